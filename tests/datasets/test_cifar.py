"""CIFAR-10 readers on generated archives: binary records, the python version through the
restricted unpickler, and hostile archives."""
import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from chainrule.datasets import DatasetCorrupt, DatasetSpec, RemoteFile, load_cifar10
from chainrule.datasets.cifar import BIN_META, BIN_TEST, BIN_TRAIN, PY_TEST, PY_TRAIN, parse_binary_batch, safe_unpickle

NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _records(images, labels):
    """Binary CIFAR records: label byte, then R, G, B planes of 1024 bytes."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return np.column_stack([labels.astype(np.uint8), planes]).tobytes()


def _tar(members: dict, path):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _spec(path, name):
    b = path.read_bytes()
    return DatasetSpec("cifar10", (RemoteFile(name, len(b), hashlib.sha256(b).hexdigest()),), ("http://127.0.0.1:9/",),
                       NAMES, subsets={"train": (name,), "test": (name,)})


def _data(rng, n):
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


@pytest.fixture
def binary_archive(tmp_path):
    rng = np.random.default_rng(0)
    parts, members = {}, {}
    for name in BIN_TRAIN + BIN_TEST:
        parts[name] = _data(rng, 4)
        members[name] = _records(*parts[name])
    members[BIN_META] = ("\n".join(NAMES) + "\n").encode()
    folder = tmp_path / "cifar10"
    folder.mkdir()
    path = _tar(members, folder / "cifar-10-binary.tar.gz")
    return path, parts


def test_binary_round_trip(binary_archive):
    path, parts = binary_archive
    d = load_cifar10(path.parent, download=False, spec=_spec(path, path.name), progress=False)
    assert d.X_train.shape == (20, 32, 32, 3) and d.X_test.shape == (4, 32, 32, 3) and d.X_train.dtype == np.uint8
    np.testing.assert_array_equal(d.X_train[:4], parts[BIN_TRAIN[0]][0])
    np.testing.assert_array_equal(d.y_test, parts[BIN_TEST[0]][1])
    assert d.class_names == NAMES and d.image_shape == (32, 32, 3)
    test_only = load_cifar10(path.parent, download=False, subset="test", spec=_spec(path, path.name), progress=False)
    assert test_only.X_train is None and test_only.X_test.shape == (4, 32, 32, 3)


@pytest.mark.parametrize("data,message", [
    (b"", r"the batch is empty"),
    (b"\x01" * 3074, r"3,074 bytes is not a whole number of 3073-byte records"),
    (bytes([12]) + bytes(3072), r"label 12 is not a CIFAR-10 class"),
    (b"<html><body>Service Unavailable</body></html>", r"not a whole number of 3073-byte records"),
])
def test_binary_batch_errors(data, message):
    with pytest.raises(DatasetCorrupt, match=message):
        parse_binary_batch(data, "data_batch_1.bin")


@pytest.mark.parametrize("evil", ["../x", "/etc/passwd-copy", "cifar-10-batches-bin/../../x"])
def test_archive_member_outside_its_folder_is_refused_and_nothing_is_written(tmp_path, evil):
    folder = tmp_path / "cache" / "cifar10"
    folder.mkdir(parents=True)
    members = {n: _records(*_data(np.random.default_rng(1), 2)) for n in BIN_TRAIN + BIN_TEST}
    members[BIN_META] = b"airplane\n"
    members[evil] = b"payload"
    path = _tar(members, folder / "cifar-10-binary.tar.gz")
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(DatasetCorrupt, match=rf"refusing the archive: member {evil!r} points outside its folder"):
        load_cifar10(folder, download=False, spec=_spec(path, path.name), progress=False)
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not (tmp_path / "x").exists() and not (tmp_path / "cache" / "x").exists()


def _python_archive(folder, batches):
    members = {name: pickle.dumps(obj, protocol=2) for name, obj in batches.items()}
    return _tar(members, folder / "cifar-10-python.tar.gz")


def _py_batch(rng, n):
    images, labels = _data(rng, n)
    return {b"batch_label": b"training batch", b"labels": labels.tolist(),
            b"data": images.transpose(0, 3, 1, 2).reshape(n, 3072), b"filenames": [b"a.png"] * n}, images, labels


def test_python_version_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    batches, expected = {}, {}
    for name in PY_TRAIN + PY_TEST:
        batches[name], *expected[name] = _py_batch(rng, 3)
    path = _python_archive(tmp_path, batches)
    d = load_cifar10(tmp_path, download=False, format="python", spec=_spec(path, path.name), progress=False)
    assert d.X_train.shape == (15, 32, 32, 3)
    np.testing.assert_array_equal(d.X_test, expected[PY_TEST[0]][0])
    np.testing.assert_array_equal(d.y_train[:3], expected[PY_TRAIN[0]][1])


class _Hostile:
    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def test_hostile_pickle_is_refused_and_its_payload_never_runs(tmp_path):
    sentinel = tmp_path / "PWNED"
    rng = np.random.default_rng(3)
    batches = {name: _py_batch(rng, 2)[0] for name in PY_TRAIN + PY_TEST}
    batches[PY_TRAIN[2]] = {b"data": _Hostile(sentinel), b"labels": [0, 1]}
    path = _python_archive(tmp_path, batches)
    with pytest.raises(DatasetCorrupt, match=r"refused to load the global (posix|nt)\.system; refusing the file"):
        load_cifar10(tmp_path, download=False, format="python", spec=_spec(path, path.name), progress=False)
    assert not sentinel.exists()
    # and the same for other dangerous globals, directly
    for payload in (pickle.dumps(eval), pickle.dumps(_Hostile(sentinel)), b"cbuiltins\nexec\n(S'1'\ntR."):
        with pytest.raises(DatasetCorrupt, match=r"refused to load the global"):
            safe_unpickle(payload)
    assert not sentinel.exists()
    with pytest.raises(DatasetCorrupt, match=r"refused _codecs.encode with encoding 'rot13'"):
        safe_unpickle(b"c_codecs\nencode\n(X\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13tR.")
    # plain data is fine
    assert safe_unpickle(pickle.dumps({b"a": [1, 2.5, "x", (3,)], b"n": np.arange(3)}))[b"a"] == [1, 2.5, "x", (3,)]


# ---- the python version as Python 2 wrote it, and pickles that build too much ---------------------
def _py2_batch(images, labels):
    """A batch pickled the way the real files were (Python 2 cPickle, protocol 2, str = bytes)."""
    n = len(images)
    raw = images.transpose(0, 3, 1, 2).reshape(n, 3072).tobytes()
    array = (b"cnumpy.core.multiarray\n_reconstruct\nq\x03cnumpy\nndarray\nq\x04K\x00\x85U\x01b\x87Rq\x05(K\x01M"
             + n.to_bytes(2, "little") + b"M\x00\x0c\x86cnumpy\ndtype\nq\x06U\x02u1K\x00K\x01\x87Rq\x07(K\x03U\x01|NNN"
             b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T" + len(raw).to_bytes(4, "little") + raw + b"tb")
    names = b"".join(b"U\x05a.png" for _ in range(n))
    return (b"\x80\x02}q\x01(U\x04dataq\x02" + array + b"U\x06labelsq\x08](" + b"".join(b"K" + bytes([v]) for v in labels)
            + b"eU\x0bbatch_labelq\tU\x07batch 1U\tfilenamesq\x0b](" + names + b"eu.")


def test_python_version_as_python_2_wrote_it(tmp_path):
    from chainrule.datasets.cifar import parse_python_batch
    rng = np.random.default_rng(5)
    images, labels = _data(rng, 3)
    got_images, got_labels = parse_python_batch(_py2_batch(images, labels), "data_batch_1")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    members = {name: _py2_batch(*_data(rng, 2)) for name in PY_TRAIN + PY_TEST}
    path = _tar(members, tmp_path / "cifar-10-python.tar.gz")
    d = load_cifar10(tmp_path, download=False, format="python", spec=_spec(path, path.name), progress=False)
    assert d.X_train.shape == (10, 32, 32, 3) and d.y_test.shape == (2,)


RECONSTRUCT = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
DOUBLING = b"\x80\x02K\x00K\x00\x86q\x00" + b"".join(bytes([0x68, i, 0x68, i, 0x86, 0x71, i + 1]) for i in range(40)) + b"."


@pytest.mark.parametrize("payload,message", [
    (b"\x80\x02}q\x00(U\x04dataq\x01]q\x02(" + b"h\x02" * 140 + b"eU\x06labelsq\x03]q\x04u.",
     "refused a second reference to a list: self-referencing or shared structures are not plain data"),
    (b"\x80\x02]q\x00(}q\x01h\x01e.", "refused a second reference to a dict"),
    (b"\x80\x02]2a.", "refused a second reference to a list"),                                     # DUP
    (DOUBLING, "the pickle builds more than 1,049,"),                                               # 2^40 leaves
    (b"\x80\x02(" + b"]" * (4 << 20) + b"l.", "the pickle builds more than 9,437,"),              # 4 M lists
    (b"\x80\x02cnumpy\nndarray\nJ\xff\xff\xff\x7f\x85R.", "refused to call numpy.ndarray"),
    (b"\x80\x02" + RECONSTRUCT + b"J\xff\xff\xff\x7f\x85C\x01b\x87R.", "refused numpy _reconstruct(numpy.ndarray, "
                                                                          "(2147483647,), b'b')"),
    (b"\x80\x02" + RECONSTRUCT + b"K\x00\x85C\x01b\x87R(K\x01J\x40\x42\x0f\x00J\x40\x42\x0f\x00\x86cnumpy\ndtype\n"
     b"X\x02\x00\x00\x00u1\x89\x88\x87R\x89C\x02abtb.",
     "the array data must be 1,000,000,000,000 bytes for shape (1000000, 1000000) of uint8; got 2"),
    (b"\x80\x02" + RECONSTRUCT + b"K\x00\x85C\x01b\x87R.", "refused an array that was never given its data"),
    (b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R.", "refused numpy.dtype('O8')"),
    (b"\x80\x02cnumpy\ndtype\nX\x08\x00\x00\x00V9999999\x89\x88\x87R.", "refused numpy.dtype('V9999999')"),
    (b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00u1K\xc8K\xc8\x86\x86\x89\x88\x87R.", "a dtype name must be a short string"),
    (b"\x80\x05\x96" + (2**40).to_bytes(8, "little") + b".", "refused the pickle opcode BYTEARRAY8"),
    (b"\x80\x03B\xff\xff\xff\x7fabc.", "pickle data was truncated"),
    (b"\x80\x04\x95" + (2**40).to_bytes(8, "little") + b".", "the pickle builds more than"),      # FRAME
    (b"\x80\x02}}b.", "refused to set the state of a dict"),
    (b"\x80\x02cnumpy\ndtype\n)\x81.", "refused the pickle opcode NEWOBJ"),
], ids=["self-referencing", "shared-dict", "dup", "doubling-tuples", "empty-list-flood", "ndarray-call",
        "reconstruct-shape", "array-state", "array-without-data", "object-dtype", "void-dtype", "subarray-dtype",
        "bytearray8", "binbytes-length", "frame-length", "build-dict", "newobj"])
def test_pickles_that_build_too_much_are_refused_before_they_do(payload, message):
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(DatasetCorrupt, match=r"^data_batch_1: .*refusing the file$") as info:
            safe_unpickle(payload, "data_batch_1")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message in str(info.value)
    assert peak < 16 << 20, f"{peak:,} bytes allocated before the refusal"


def test_a_huge_memo_index_costs_nothing():
    assert safe_unpickle(b"\x80\x02]r\xff\xff\xff\xff.") == []
    assert safe_unpickle(pickle.dumps({b"x": [b"a.png"] * 3, b"d": np.zeros((2, 2), np.int64)}, protocol=2))[b"x"] == \
        [b"a.png"] * 3                                              # a shared bytes object is fine
