"""MNIST: the real test-set files, and the IDX parser on generated good and corrupted files."""
import gzip

import numpy as np
import pytest

from chainrule.datasets import DatasetCorrupt, load_mnist, read_idx, read_mnist_pair, write_idx


def test_real_mnist_test_set(mnist_dir):
    d = load_mnist(mnist_dir, download=False, subset="test", progress=False)
    assert d.X_test.shape == (10000, 28, 28) and d.X_test.dtype == np.uint8
    assert np.bincount(d.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert d.X_train is None and d.class_names == tuple("0123456789")
    assert d.X_test.max() == 255 and d.X_test.min() == 0


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("array", [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([3, 1, 4, 1, 5], dtype=np.uint8),
    np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
    np.array([[-7, 300], [65000, -65000]], dtype=np.int32),
], ids=["u8-3d", "u8-1d", "f32", "i32"])
def test_idx_round_trip(tmp_path, array, suffix):
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def _raw(array):
    import io
    import struct
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.tobytes()


GOOD = np.arange(4 * 5 * 5, dtype=np.uint8).reshape(4, 5, 5)


@pytest.mark.parametrize("name,data,message", [
    ("bad magic", b"\x08\x03\x00\x00" + _raw(GOOD)[4:], r"bad magic number 08030000"),
    ("unknown type", b"\x00\x00\x07\x03" + _raw(GOOD)[4:], r"bad magic number 00000703"),
    ("truncated", _raw(GOOD)[:-7], r"truncated: expected 100 bytes of data of shape \(4, 5, 5\), found 93"),
    ("count too high", _raw(GOOD)[:4] + (5).to_bytes(4, "big") + _raw(GOOD)[8:], r"truncated"),
    ("count too low", _raw(GOOD)[:4] + (3).to_bytes(4, "big") + _raw(GOOD)[8:], r"bytes beyond the \(3, 5, 5\) it declares"),
    ("empty", b"", r"the file is empty"),
    ("html", b"<!DOCTYPE html><html><body>404 Not Found</body></html>", r"HTML or XML page, not an IDX file"),
    ("header cut", _raw(GOOD)[:9], r"truncated: expected 12 bytes of dimensions, found 5"),
    ("zero dim", _raw(GOOD)[:4] + (0).to_bytes(4, "big") + _raw(GOOD)[8:], r"declares an empty dimension"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_corrupted_idx_raise_one_clear_error(tmp_path, name, data, message, compress):
    path = tmp_path / ("bad.idx.gz" if compress else "bad.idx")
    if compress and data:
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    with pytest.raises(DatasetCorrupt, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_damaged_gzip_stream(tmp_path):
    blob = bytearray(gzip.compress(_raw(GOOD), mtime=0))
    blob[20:30] = b"\xff" * 10
    path = tmp_path / "damaged.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(DatasetCorrupt, match=r"damaged.gz"):
        read_idx(path)


def test_mnist_pair_cross_checks(tmp_path):
    write_idx(tmp_path / "img.gz", GOOD)
    write_idx(tmp_path / "lab.gz", np.array([1, 2, 3], dtype=np.uint8))
    with pytest.raises(DatasetCorrupt, match=r"holds 4 images but .*lab.gz 3 labels"):
        read_mnist_pair(tmp_path / "img.gz", tmp_path / "lab.gz")
    write_idx(tmp_path / "lab.gz", np.array([1, 2, 3, 12], dtype=np.uint8))
    with pytest.raises(DatasetCorrupt, match=r"label 12 is not a class in \[0, 10\)"):
        read_mnist_pair(tmp_path / "img.gz", tmp_path / "lab.gz")


def test_headers_are_checked_against_what_mnist_holds_before_the_data_is_read(tmp_path):
    import hashlib
    import struct
    from chainrule.datasets import DatasetSpec, RemoteFile
    huge = tmp_path / "huge.idx"
    huge.write_bytes(bytes([0, 0, 8, 4]) + struct.pack(">IIII", *[0xFFFFFFFF] * 4))   # 2^128 bytes, no data
    with pytest.raises(DatasetCorrupt, match=r"the data must be at most 47,040,000 bytes; got a header declaring "
                                             r"\(4294967295, 4294967295, 4294967295, 4294967295\) of uint8"):
        read_idx(huge)
    write_idx(tmp_path / "small.idx", GOOD)                                          # the cap is a parameter
    with pytest.raises(DatasetCorrupt, match=r"must be at most 10 bytes; got a header declaring \(4, 5, 5\)"):
        read_idx(tmp_path / "small.idx", max_bytes=10)
    # the test files may hold 10,000 images, the training files 60,000
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((10_001, 28, 28), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(10_001, np.uint8))
    files = tuple(RemoteFile(p.name, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
                  for p in sorted(folder.iterdir()))
    spec = DatasetSpec("mnist", files, ("http://127.0.0.1:9/",), tuple("0123456789"),
                       subsets={"test": tuple(f.name for f in files)}, max_images={"test": 10_000})
    with pytest.raises(DatasetCorrupt, match=r"t10k-images-idx3-ubyte.gz: must hold at most 10,000 images; got a header "
                                             r"declaring 10,001"):
        load_mnist(folder, download=False, subset="test", spec=spec, progress=False)


def test_an_idx_file_linked_from_outside_the_data_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.idx"
    write_idx(outside, GOOD)
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.idx").symlink_to(outside)
    np.testing.assert_array_equal(read_idx(folder / "a.idx"), GOOD)                 # no root: links are followed
    with pytest.raises(DatasetCorrupt, match=rf"a.idx must stay inside {folder}; got a link to {outside}"):
        read_idx(folder / "a.idx", root=folder)
