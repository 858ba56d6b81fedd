"""Hostile files are refused cheaply (issue 9, items 4 and 5, data side).

Each hostile file of the audit is built here, in tmp_path, in milliseconds: every MiB of zeros
deflates to the same ~1 KB block once the compressor is fully flushed, so a 2 MB file that
expands to 2 GB is that block repeated, with its CRC computed in O(log n). A fresh Python process
then imports what it needs, resets its peak resident size (/proc/self/clear_refs), limits its
address space (``resource.setrlimit(RLIMIT_AS)``) to what it has plus the budget, hands the file
to the reader and reports the error, its message and its peak (VmHWM) above the size it had
before reading; the parent kills it after ``TIMEOUT`` seconds (a FIFO opened for reading would
block forever). Every refusal must cost at most 4 x the file's size + 64 MB: an allocation past
it fails in the child with MemoryError, and the growth is checked as well.
Run with ``-s`` to see the measured peaks.
"""
import json
import os
import struct
import subprocess
import sys
import tarfile
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

MB = 1 << 20
pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc")

CHILD = textwrap.dedent('''
    import json, sys
    def vm(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    scope = {"path": sys.argv[3]}
    exec(sys.argv[1], scope)                 # imports and set-up: not counted
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                     # the peak (VmHWM) starts again from the current size
    except OSError:
        pass                                 # then the peak includes the imports: a stricter test
    import resource
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = vm("VmSize") + int(sys.argv[4])  # what the process has mapped, plus the budget
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    base = vm("VmRSS")
    error = message = None
    try:
        exec(sys.argv[2], scope)
    except BaseException as exc:
        error, message = type(exc).__name__, str(exc)
    print(json.dumps({"error": error, "message": message, "growth": vm("VmHWM") - base}))
''')


TIMEOUT = 60          # seconds: a read that has not returned or failed by then hangs (the machine may be busy)


def refused_cheaply(label, path, setup, action, error, message):
    """Run ``action`` on ``path`` in a child limited to the budget (address space) and to ``TIMEOUT``
    seconds; check the error, its message and the peak memory."""
    size = os.stat(path, follow_symlinks=False).st_size
    budget = 4 * size + 64 * MB
    proc = subprocess.run([sys.executable, "-c", CHILD, setup, action, str(path), str(budget)], capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nPEAK {label}: file {size:,} bytes; peak +{result['growth'] / 1024:,.0f} KiB (budget {budget / MB:.1f} MiB)")
    assert result["error"] == error, result
    assert message in result["message"], result["message"]
    assert result["growth"] <= budget, f"{label}: peak +{result['growth']:,} bytes > {budget:,}"
    return result


# ---- building bombs in milliseconds --------------------------------------------------------------
def _times(mat, vec):
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def crc32_zeros(crc, n):
    """``zlib.crc32(bytes(n), crc)`` in O(log n) steps (zlib's crc32_combine)."""
    crc ^= 0xFFFFFFFF
    odd = [0xEDB88320] + [1 << i for i in range(31)]          # the register after one zero bit
    even = [_times(odd, m) for m in odd]
    odd = [_times(even, m) for m in even]
    while n:
        even = [_times(odd, m) for m in odd]
        if n & 1:
            crc = _times(even, crc)
        n >>= 1
        if n:
            odd = [_times(even, m) for m in even]
            if n & 1:
                crc = _times(odd, crc)
            n >>= 1
    return crc ^ 0xFFFFFFFF


def deflate_zeros(prefix: bytes, mib: int):
    """(raw deflate stream, CRC-32, length) of ``prefix`` followed by ``mib`` MiB of zeros."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MB)) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(bytes(MB)) + c.flush(zlib.Z_FULL_FLUSH) == block      # a fresh start each MiB
    return head + block * mib + c.flush(), crc32_zeros(zlib.crc32(prefix), mib * MB), len(prefix) + mib * MB


def gzip_bomb(path, prefix: bytes, mib: int):
    body, crc, size = deflate_zeros(prefix, mib)
    path.write_bytes(b"\x1f\x8b\x08\x00\0\0\0\0\x02\xff" + body + struct.pack("<II", crc, size & 0xFFFFFFFF))
    return path


def npy_header(shape) -> bytes:
    import io
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return head.getvalue()


def npz_bomb(path, mib: int):
    """An .npz whose one member, w.npy, is float64 zeros of ``mib`` MiB, deflated."""
    body, crc, size = deflate_zeros(npy_header((mib * MB // 8,)), mib)
    name = b"w.npy"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 33, crc, len(body), size, len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 33, crc, len(body), size, len(name),
                          0, 0, 0, 0, 0o644 << 16, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(body), 0)
    path.write_bytes(local + body + central + end)
    return path


def tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)


def test_the_bombs_are_genuine_gzip_and_zip_files(tmp_path):
    import gzip
    assert crc32_zeros(zlib.crc32(b"abc"), 3 * MB + 5) == zlib.crc32(bytes(3 * MB + 5), zlib.crc32(b"abc"))
    assert gzip.decompress(gzip_bomb(tmp_path / "b.gz", b"head", 3).read_bytes()) == b"head" + bytes(3 * MB)
    with np.load(npz_bomb(tmp_path / "b.npz", 2), allow_pickle=False) as z:      # what np.load would do
        assert z["w"].shape == (2 * MB // 8,) and not z["w"].any()
    assert (tmp_path / "b.npz").stat().st_size < 4000


# ---- the audit's hostile files ---------------------------------------------------------------
IDX_HEADER = bytes([0, 0, 8, 3])


def test_idx_gzip_bomb_declaring_gigabytes_is_refused_before_reading(tmp_path):
    bomb = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz", IDX_HEADER + struct.pack(">III", 5_000_000, 28, 28),
                     1900)
    refused_cheaply("IDX gzip bomb, header declares 3.9 GB", bomb, "from chainrule.datasets import read_idx",
                    "read_idx(path)", "DatasetCorrupt",
                    "the data must be at most 47,040,000 bytes; got a header declaring (5000000, 28, 28) of uint8, "
                    "3,920,000,000 bytes (refused before reading)")


def test_idx_gzip_bomb_behind_a_valid_header_stops_one_byte_past_the_data(tmp_path):
    bomb = gzip_bomb(tmp_path / "t10k-images-idx3-ubyte.gz", IDX_HEADER + struct.pack(">III", 10_000, 28, 28), 1900)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    from chainrule.datasets import write_idx
    write_idx(labels, np.zeros(10_000, np.uint8))
    refused_cheaply("IDX gzip bomb, 10,000 images then 1.9 GB", bomb,
                    "from chainrule.datasets import read_mnist_pair",
                    f"read_mnist_pair(path, {str(labels)!r}, max_images=10_000)", "DatasetCorrupt",
                    "has bytes beyond the (10000, 28, 28) it declares")


def test_cifar_tar_gz_bomb_member_declaring_6_gb_is_refused_before_reading(tmp_path):
    bomb = gzip_bomb(tmp_path / "cifar-10-binary.tar.gz",
                     tar_header("cifar-10-batches-bin/data_batch_1.bin", 6_000_000_000), 1900)
    refused_cheaply("CIFAR tar.gz bomb, member declares 6.0 GB", bomb,
                    "from chainrule.datasets.cifar import load_binary_archive", "load_binary_archive(path)",
                    "DatasetCorrupt", "member 'cifar-10-batches-bin/data_batch_1.bin' must be at most 31,778,576 bytes"
                    " (10,000 records); got a header declaring 6,000,000,000 (refused before reading)")


def test_cifar_tar_gz_bomb_in_a_skipped_member_stops_at_the_decompression_cap(tmp_path):
    bomb = gzip_bomb(tmp_path / "cifar-10-binary.tar.gz", tar_header("cifar-10-batches-bin/padding", 1900 * MB), 1900)
    cap = 2 * bomb.stat().st_size + 16 * MB
    refused_cheaply("CIFAR tar.gz bomb, 1.9 GB skipped member", bomb,
                    "from chainrule.datasets.cifar import load_binary_archive", "load_binary_archive(path)",
                    "DatasetCorrupt", f"refusing the archive: must decompress to at most {cap:,} bytes; got more")


SELF_REFERENCING = (b"\x80\x02}q\x00(U\x04dataq\x01]q\x02(" + b"h\x02" * 140 + b"eU\x06labelsq\x03]q\x04u.")


def test_self_referencing_cifar_pickle_is_refused_before_numpy_sees_it(tmp_path):
    import io
    assert len(SELF_REFERENCING) == 314                                # the audit's was 311 bytes
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(SELF_REFERENCING)
        tar.addfile(info, io.BytesIO(SELF_REFERENCING))
    refused_cheaply("CIFAR self-referencing pickle (314 bytes)", archive,
                    "from chainrule.datasets.cifar import load_python_archive", "load_python_archive(path)",
                    "DatasetCorrupt", "data_batch_1: refused a second reference to a list: self-referencing or shared "
                    "structures are not plain data; refusing the file")


def test_npz_bomb_of_2_mb_declaring_2_gb_is_refused_before_decompressing(tmp_path):
    bomb = npz_bomb(tmp_path / "checkpoint.npz", 1888)
    assert 1.9e6 < bomb.stat().st_size < 2.0e6                         # 1.96 MB -> 1.98 GB
    refused_cheaply("npz bomb, 1.98 GB of float64", bomb, "from chainrule.io.safe_arrays import load_npz_capped",
                    "load_npz_capped(path, max_total_bytes=256 << 20, max_members=64)", "FileTooLarge",
                    "must decompress to at most 268,435,456 bytes of arrays; its entries declare 1,979,711,616")
    # the same data with a zip entry that lies: 208 bytes (with a matching CRC); the .npy header tells
    data = bytearray(bomb.read_bytes())
    crc = crc32_zeros(zlib.crc32(npy_header((1888 * MB // 8,))), 80)     # header + 80 bytes of zeros
    for at in (14, data.rindex(b"PK\x01\x02") + 16):                    # local and central: CRC, sizes
        data[at:at + 4] = struct.pack("<I", crc)
        data[at + 8:at + 12] = struct.pack("<I", 128 + 80)
    bomb.write_bytes(bytes(data))
    refused_cheaply("npz bomb, zip entry lies", bomb, "from chainrule.io.safe_arrays import load_npz_capped",
                    "load_npz_capped(path, max_total_bytes=256 << 20, max_members=64)", "FileTooLarge",
                    "must hold at most 268,435,456 bytes; its header declares (247463936,) of float64, "
                    "1,979,711,488 bytes")


@pytest.mark.parametrize("reader", ["open_regular(path)", "read_capped(path, 1 << 30)",
                                    "load_npz_capped(path, 1 << 30, 64)"])
def test_model_file_linked_to_dev_zero_is_refused_without_reading(tmp_path, reader):
    link = tmp_path / "model.safetensors"
    link.symlink_to("/dev/zero")
    refused_cheaply(f"model.safetensors -> /dev/zero, {reader.split('(')[0]}", link,
                    "from chainrule.io.safe import open_regular, read_capped; "
                    "from chainrule.io.safe_arrays import load_npz_capped", reader,
                    "UnsafeFileError", "model.safetensors must be a regular file; got a character device")


@pytest.mark.parametrize("reader", ["open_regular(path)", "load_npz_capped(path, 1 << 30, 64)", "read_idx(path)"])
def test_fifo_is_refused_without_hanging(tmp_path, reader):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    error = "DatasetCorrupt" if "read_idx" in reader else "UnsafeFileError"
    refused_cheaply(f"FIFO, {reader.split('(')[0]}", fifo, "from chainrule.io.safe import open_regular; "
                    "from chainrule.io.safe_arrays import load_npz_capped; from chainrule.datasets import read_idx",
                    reader, error,
                    "must be a regular file; got a FIFO (named pipe)")


def test_model_file_with_an_absurd_hog_resize_is_refused_as_it_loads(tmp_path):
    from sklearn.pipeline import make_pipeline

    from chainrule import io
    from chainrule.datasets import load_digits
    from chainrule.features import HOGFeatures
    from chainrule.models import LinearClassifier
    d = load_digits()
    pipe = make_pipeline(HOGFeatures(resize_to=(24, 24), pixels_per_cell=(6, 6)),
                         LinearClassifier(max_iter=1, random_state=0)).fit(d.X_train[:50], d.y_train[:50])
    pipe.set_params(hogfeatures__resize_to=(40000, 40000))            # set_params skips the check...
    path = tmp_path / "model.safetensors"
    io.save(pipe, path)                                                # ...so such a file can be written
    refused_cheaply("model file with HOGFeatures(resize_to=(40000, 40000))", path,
                    "from chainrule import io; from chainrule.datasets import load_digits; X = load_digits().X_test",
                    "io.load(path).predict(X)", "ModelFileError",
                    "resize_to must be None or (height, width) with each side an integer from 1 to 1024; "
                    "got (40000, 40000)")


# ---- run and sweep folders' JSON files ----------------------------------------------------------
def test_a_history_json_that_is_a_fifo_is_refused_by_name(tmp_path):
    path = tmp_path / "history.json"
    os.mkfifo(path)
    refused_cheaply("history.json as a FIFO", path, "from chainrule.training import History", "History.load(path)",
                    "ValueError", f"{path} is not a history JSON file: must be a regular file; got a FIFO")


@pytest.mark.parametrize("kind", ["fifo", "deep", "huge-number"])
def test_a_hostile_journal_record_is_refit_not_read(tmp_path, kind):
    """A record replaced by a FIFO hung `sweep --resume`; a deep one gave RecursionError: each is now
    refused with a warning naming it, and that fit runs again."""
    from sklearn.datasets import load_digits

    from chainrule.models import LinearClassifier
    from chainrule.sweep import sweep
    X, y = load_digits(return_X_y=True)
    out = tmp_path / "sweep"
    sweep(LinearClassifier(max_iter=1, random_state=0), {"alpha": [1e-4]}, X[:120] / 16, y[:120], cv=2, n_jobs=1,
          out=out, progress=False)
    record = sorted((out / "journal").glob("*.json"))[0]
    record.unlink()
    if kind == "fifo":
        os.mkfifo(record)
    else:
        record.write_text("[" * 200_000 + "]" * 200_000 if kind == "deep" else "9" * 100_000)
    setup = ("import json, warnings; from chainrule.sweep.journal import Journal; "
             f"manifest = json.load(open({str(out / 'sweep.json')!r})); "
             "manifest = {k: v for k, v in manifest.items() if k not in ('format', 'version')}")
    action = ("with warnings.catch_warnings(record=True) as w:\n"
              "    warnings.simplefilter('always')\n"
              f"    journal = Journal({str(out)!r}).open(manifest, resume=True)\n"
              "raise ValueError(f'{len(journal.done)} done, {len(journal.to_run([(0, 0), (0, 1)]))} to run; '"
              " + ' | '.join(str(x.message) for x in w))")
    refused_cheaply(f"journal record: {kind}", record, setup, action, "ValueError",
                    f"1 done, 1 to run; {record} is not a valid record of this sweep; that fit will be run again")


# ---- chainrule evaluate never reads, writes or downloads where a run's config says ---------------
@pytest.mark.parametrize("victim_exists", [True, False])
def test_evaluate_never_uses_the_data_folder_a_config_names(tmp_path, capsys, monkeypatch, victim_exists):
    """Issue 19.2: config.json's settings.data_dir made evaluate create that folder (and download into
    it): a write outside the folders the user named. The folder is now ignored, with one line."""
    from chainrule import io
    from chainrule.cli import main
    from chainrule.models import LinearClassifier
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "home"))     # the user's own choice
    run = tmp_path / "run"                                         # a run folder as `chainrule train` writes it
    run.mkdir()
    io.save(LinearClassifier(max_iter=1).fit(np.eye(4), [0, 1, 0, 1]), run / "model.safetensors")
    victim = tmp_path / "victim" / ("mnist" if victim_exists else "not/yet/there")
    files = {name: f"not MNIST: {name}".encode() for name in
             ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz")} if victim_exists else {}
    victim.mkdir(parents=True) if victim_exists else None
    for name, content in files.items():
        (victim / name).write_bytes(content)
    config = {"settings": {"data_dir": str(victim), "seed": 0},
              "dataset": {"name": "mnist", "kind": "image", "image_shape": [28, 28], "pixel_max": 255,
                          "class_names": [str(c) for c in range(10)]}}
    (run / "config.json").write_text(json.dumps(config))
    assert main(["evaluate", str(run), "--no-download"]) == 1            # not in the user's data home
    err = capsys.readouterr().err
    assert victim.exists() == victim_exists                              # never created
    for name, content in files.items():
        assert (victim / name).read_bytes() == content                 # every file survives, unchanged
    assert f"records the data folder {victim}; it is not used" in err
    assert f"reading {tmp_path / 'home' / 'mnist'} instead (give --data-dir {victim} to use that folder)" in err
    assert str(victim / "t10k-images-idx3-ubyte.gz") not in err          # nothing there was read
    assert "Traceback" not in err


def test_the_peak_memory_measure_sees_an_allocation(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    result = refused_cheaply("harness check: 48 MB allocated", path, "import numpy as np",
                             "a = np.ones(48 << 20, np.uint8); raise ValueError('x')", "ValueError", "x")
    assert result["growth"] >= 48 << 20


def test_the_memory_limit_stops_an_allocation_past_the_budget(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with pytest.raises(AssertionError, match="'error': 'MemoryError'"):
        refused_cheaply("harness check: 100 MB asked for", path, "import numpy as np",
                        "a = np.ones(100 << 20, np.uint8); raise ValueError('x')", "ValueError", "x")


def test_the_time_limit_stops_a_read_that_hangs(tmp_path, monkeypatch):
    import test_hostile_files as harness
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(harness, "TIMEOUT", 3)
    with pytest.raises(subprocess.TimeoutExpired):
        harness.refused_cheaply("harness check: a plain open() of a FIFO", fifo, "", "open(path, 'rb').read()",
                                "ValueError", "x")
