"""The shared primitives for reading files that may be hostile (chainrule.io.safe)."""
import gzip
import io
import os
import zipfile

import numpy as np
import pytest

from chainrule.io.safe import (CappedGzipReader, FileTooLarge, UnsafeFileError, open_gzip_capped, open_regular,
                               read_capped)
from chainrule.io.safe_arrays import load_npz_capped


def test_open_regular_accepts_files_and_links_that_stay_inside_root(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"abc")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "link").symlink_to(tmp_path / "a.bin")
    with open_regular(tmp_path / "a.bin", max_size=3) as f:
        assert f.read() == b"abc"
    with open_regular(tmp_path / "sub" / "link", root=tmp_path) as f:
        assert f.read() == b"abc"
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing")


def test_open_regular_refuses_what_is_not_a_small_regular_file_inside_root(tmp_path):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "out").symlink_to(outside)
    (root / "zero").symlink_to("/dev/zero")
    os.mkfifo(root / "fifo")
    cases = [
        (root / "out", {"root": root}, f"must stay inside {root}; got a link to {outside}"),
        (root / "zero", {}, "must be a regular file; got a character device"),
        (root / "fifo", {}, "must be a regular file; got a FIFO (named pipe)"),
        (root, {}, "must be a regular file; got a folder"),
        (outside, {"max_size": 5}, "must be at most 5 bytes; got 6"),
    ]
    for path, kw, message in cases:
        with pytest.raises(UnsafeFileError) as info:
            open_regular(path, **kw)
        assert str(info.value) == f"{path} {message}" and info.value.reason == message
        assert isinstance(info.value, ValueError) and isinstance(info.value, OSError)
    with pytest.raises(FileTooLarge):
        read_capped(outside, 5)


class Counting(io.RawIOBase):
    """An endless stream that counts what was read from it."""

    def __init__(self):
        self.read_so_far = 0

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), 1 << 16)
        b[:n] = b"\0" * n
        self.read_so_far += n
        return n


def test_read_capped_stops_one_byte_past_the_cap():
    assert read_capped(io.BytesIO(b"x" * 100), 100) == b"x" * 100
    endless = io.BufferedReader(Counting(), buffer_size=1)
    with pytest.raises(FileTooLarge, match=r"must hold at most 1,000,000 bytes; got more \(stopped reading at 1,000,001\)"):
        read_capped(endless, 1_000_000)
    assert endless.raw.read_so_far <= 1_000_000 + (1 << 16)


def test_capped_gzip_reads_members_padding_and_checks_the_end(tmp_path):
    data = gzip.compress(b"first ", mtime=0) + gzip.compress(b"second", mtime=0) + b"\0" * 10
    assert open_gzip_capped(io.BytesIO(data), 12).read() == b"first second"
    path = tmp_path / "d.gz"
    path.write_bytes(data)
    with open_gzip_capped(path, 12) as f:
        assert f.read() == b"first second"
    with pytest.raises(FileTooLarge, match=r"must decompress to at most 11 bytes; got more \(stopped at 12\)"):
        open_gzip_capped(io.BytesIO(data), 11).read()
    with pytest.raises(EOFError, match="truncated"):
        open_gzip_capped(io.BytesIO(data[:15]), 100).read()
    damaged = bytearray(gzip.compress(b"some text that is long enough", mtime=0))
    damaged[-6] ^= 0xFF                                      # the CRC
    with pytest.raises(Exception, match="incorrect data check"):
        open_gzip_capped(io.BytesIO(bytes(damaged)), 100).read()


def test_capped_gzip_never_decompresses_much_past_the_cap():
    bomb = gzip.compress(bytes(50 << 20), mtime=0)            # 50 MB of zeros in ~50 KB
    reader = CappedGzipReader(io.BytesIO(bomb), 1 << 20)
    with pytest.raises(FileTooLarge):
        while reader.read(1 << 16):
            pass
    assert reader.produced == (1 << 20) + 1


ARRAYS = {"f32": np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4),
          "fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
          "big_endian": np.arange(5, dtype=">i4"), "scalar": np.float64(2.5), "empty": np.zeros((0, 7), np.uint8),
          "flags": np.array([True, False]), "u64": np.array([2**64 - 1], np.uint64)}


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_load_npz_capped_gives_what_np_load_gives(tmp_path, save):
    path = tmp_path / "a.npz"
    save(path, **ARRAYS)
    got = load_npz_capped(path, max_total_bytes=1 << 20, max_members=len(ARRAYS))
    with np.load(path, allow_pickle=False) as expected:
        assert sorted(got) == sorted(expected.files)
        for k in expected.files:
            assert got[k].dtype == expected[k].dtype and got[k].shape == expected[k].shape
            assert got[k].flags.f_contiguous == expected[k].flags.f_contiguous
            np.testing.assert_array_equal(got[k], expected[k])


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _npy(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_load_npz_capped_refuses_before_decompressing(tmp_path):
    ok = _npy(np.zeros(10))
    cases = [
        ({"a.npy": ok, "b.npy": ok, "c.npy": ok}, (10**6, 2), FileTooLarge, "must hold at most 2 arrays; got 3 entries"),
        ({"a.npy": ok, "b.npy": ok}, (100, 9), FileTooLarge, "member 'b.npy' must hold at most 20 bytes; its header "
                                                              "declares (10,) of float64, 80 bytes"),
        ({"a.npy": _npy(np.array([{}], dtype=object), True)}, (10**6, 9), UnsafeFileError,
         "member 'a.npy' must hold one of bool, float32, float64, int16"),
        ({"a.npy": _npy(np.zeros(2, "u1,f4"))}, (10**6, 9), UnsafeFileError, "must hold one of"),
        ({"a.npy": _npy(np.zeros(2, np.float16))}, (10**6, 9), UnsafeFileError, "got dtype <f2"),
        ({"notes.txt": b"hello"}, (10**6, 9), UnsafeFileError, "member 'notes.txt' must be a .npy array"),
        ({"a.npy": ok[:-8]}, (10**6, 9), UnsafeFileError, "declares (10,) of float64 (208 bytes with the header) "
                                                          "but the zip entry 200"),
        ({"a.npy": b"\x93NUMPY\x01\x00" + b"\xff" * 20}, (10**6, 9), UnsafeFileError, "must start with a valid .npy"),
    ]
    for members, (budget, count), error, message in cases:
        path = _zip(tmp_path / "x.npz", members)
        with pytest.raises(error) as info:
            load_npz_capped(path, budget, count)
        assert message in str(info.value) and str(path) in str(info.value)
    (tmp_path / "plain.npy").write_bytes(ok)
    with pytest.raises(UnsafeFileError, match=r"must be an .npz \(zip\) archive"):
        load_npz_capped(tmp_path / "plain.npy", 10**6, 9)
