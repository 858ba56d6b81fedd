"""Downloads and verification against a local HTTP server on 127.0.0.1 (never the internet)."""
import hashlib
import io
import os

import numpy as np
import pytest

from chainrule.datasets import (DatasetCorrupt, DatasetMissing, DatasetSpec, RemoteFile, fetch, load_mnist,
                                write_idx)


def _mnist_like(tmp_path):
    """A tiny MNIST-shaped data set (IDX, gzip) with its own pinned sizes and checksums."""
    rng = np.random.default_rng(0)
    blobs = {}
    for prefix, n in (("train", 30), ("t10k", 10)):
        write_idx(tmp_path / "src.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        blobs[f"{prefix}-images-idx3-ubyte.gz"] = (tmp_path / "src.gz").read_bytes()
        write_idx(tmp_path / "src.gz", rng.integers(0, 10, n).astype(np.uint8))
        blobs[f"{prefix}-labels-idx1-ubyte.gz"] = (tmp_path / "src.gz").read_bytes()
    (tmp_path / "src.gz").unlink()
    return blobs


def _spec(blobs, urls):
    files = tuple(RemoteFile(n, len(b), hashlib.sha256(b).hexdigest()) for n, b in blobs.items())
    return DatasetSpec("mnist", files, tuple(urls), tuple("0123456789"),
                       subsets={"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                                "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")})


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


@pytest.fixture
def setup(tmp_path, http_server):
    blobs = _mnist_like(tmp_path)
    cache = tmp_path / "cache" / "mnist"
    outside_before = _tree(tmp_path)
    return blobs, cache, http_server, outside_before, tmp_path


def test_good_download_is_verified_cached_and_loaded(setup):
    blobs, cache, server, _, _ = setup
    for name, b in blobs.items():
        server.routes[f"/primary/{name}"] = ("ok", b)
    spec = _spec(blobs, [server.url + "/primary/"])
    d = load_mnist(cache, spec=spec, progress=False)
    assert d.X_train.shape == (30, 28, 28) and d.X_test.shape == (10, 28, 28)
    assert sorted(os.listdir(cache)) == sorted(blobs)            # exactly the files, no temporaries
    server.log.clear()
    load_mnist(cache, spec=spec, progress=False)                 # cached: nothing downloaded again
    assert server.log == []


def test_a_404_then_a_good_mirror(setup):
    blobs, cache, server, _, _ = setup
    for name, b in blobs.items():
        server.routes[f"/mirror/{name}"] = ("ok", b)
    spec = _spec(blobs, [server.url + "/gone/"])
    d = load_mnist(cache, spec=spec, mirrors=[server.url + "/mirror/"], progress=False)
    assert d.y_test.shape == (10,)
    assert any(p.startswith("/gone/") for p in server.log) and any(p.startswith("/mirror/") for p in server.log)


@pytest.mark.parametrize("kind,damage,message", [
    ("ok", lambda b: b[:-1] + bytes([b[-1] ^ 1]), r"has SHA-256 [0-9a-f]{64}, expected"),
    ("cut", lambda b: b, r"was cut off after \d[\d,]* of [\d,]+ bytes"),
    ("html", lambda b: b"<!DOCTYPE html><html><title>502 Bad Gateway</title></html>",
     r"it is an HTML page: the server sent an error or login page"),
    ("ok", lambda b: b"", r"is empty"),
], ids=["corrupt", "cut-off", "html", "empty"])
def test_bad_downloads_raise_one_error_and_leave_nothing(setup, kind, damage, message):
    blobs, cache, server, outside_before, root = setup
    for name, b in blobs.items():
        server.routes[f"/p/{name}"] = (kind, damage(b))
    spec = _spec(blobs, [server.url + "/p/"])
    with pytest.raises(DatasetMissing, match=message) as info:
        load_mnist(cache, spec=spec, progress=False)
    text = str(info.value)
    assert f"Place these files in {cache}" in text and "t10k-images-idx3-ubyte.gz" in text
    assert not cache.exists() or os.listdir(cache) == []          # nothing left in the cache
    assert _tree(root) == outside_before                           # nothing written anywhere else


def test_file_chainrule_downloaded_into_its_cache_that_fails_verification_is_removed_and_named(setup, monkeypatch):
    blobs, _, server, _, root = setup
    monkeypatch.setenv("CHAINRULE_DATA", str(root / "home"))
    cache = root / "home" / "mnist"                                # chainrule's own cache folder
    old = dict(blobs, **{"t10k-labels-idx1-ubyte.gz": b"\x1f\x8b garbage of the wrong size"})
    for name, b in old.items():
        server.routes[f"/old/{name}"] = ("ok", b)
    fetch(_spec(old, [server.url + "/old/"]), cache, progress=False)   # chainrule downloads all four
    bad = cache / "t10k-labels-idx1-ubyte.gz"
    spec = _spec(blobs, [server.url + "/nowhere/"])                   # the pinned checksum changes
    with pytest.raises(DatasetCorrupt, match=r"t10k-labels-idx1-ubyte.gz has 28 bytes, expected 38; removed") as info:
        load_mnist(download=False, subset="test", spec=spec, progress=False)
    assert not bad.exists()                                        # removed, never parsed
    assert "Place these files in" in str(info.value)
    # with downloading allowed it is fetched again from a good source
    for name, b in blobs.items():
        server.routes[f"/nowhere/{name}"] = ("ok", b)
    assert load_mnist(cache, subset="test", spec=spec, progress=False).X_test.shape == (10, 28, 28)
    assert sorted(os.listdir(cache)) == sorted([*blobs, ".chainrule-downloads.json"])


def test_offline_error_names_every_file_and_the_folder(setup):
    blobs, cache, _, _, _ = setup
    spec = _spec(blobs, ["http://127.0.0.1:9/unreachable/"])
    with pytest.raises(DatasetMissing) as info:
        load_mnist(cache, download=False, spec=spec, progress=False)
    text = str(info.value)
    assert f"Place these files in {cache}" in text
    for name, b in blobs.items():
        assert f"{name}  ({len(b):,} bytes, SHA-256 {hashlib.sha256(b).hexdigest()})" in text
    with pytest.raises(DatasetMissing, match=r"could not be downloaded"):
        fetch(spec, cache, progress=False, timeout=2)
    assert not cache.exists() or os.listdir(cache) == []


def test_real_spec_pins_the_shared_files(mnist_dir):
    from chainrule.datasets import MNIST, check_file
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert check_file(mnist_dir / name, MNIST.file(name)) is None


def test_info_lists_each_dataset(tmp_path, capsys):
    from chainrule.datasets.__main__ import main
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"wrong")
    assert main(["info", "--data-home", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"folder: {tmp_path / 'mnist'}" in out and f"folder: {tmp_path / 'cifar10'}" in out
    assert "mnist (IDX files): incomplete" in out and "invalid: has 5 bytes" in out
    assert "cifar-10-binary.tar.gz" in out and "missing" in out and "digits" in out


# ---- chainrule deletes only what it downloaded into its own cache ---------------------------------
def test_junk_in_a_user_folder_survives_and_is_named(setup):
    blobs, _, server, _, root = setup
    folder = root / "my-data"                        # a folder the user named (data_dir, config.json)
    folder.mkdir()
    junk = folder / "t10k-images-idx3-ubyte.gz"
    junk.write_bytes(b"my thesis, chapter 3")
    same_size = folder / "t10k-labels-idx1-ubyte.gz"
    same_size.write_bytes(bytes(len(blobs["t10k-labels-idx1-ubyte.gz"])))
    spec = _spec(blobs, [server.url + "/p/"])
    with pytest.raises(DatasetCorrupt) as info:
        load_mnist(folder, download=False, subset="test", spec=spec, progress=False)
    text = str(info.value)
    images = blobs["t10k-images-idx3-ubyte.gz"]
    assert (f"{junk} has 20 bytes, expected {len(images):,}; left untouched (chainrule deletes nothing outside its "
            f"own cache): move it away or replace it with the genuine file ({len(images):,} bytes, SHA-256 "
            f"{hashlib.sha256(images).hexdigest()})") in text
    assert f"{same_size} has SHA-256 {hashlib.sha256(same_size.read_bytes()).hexdigest()}, expected" in text
    assert junk.read_bytes() == b"my thesis, chapter 3" and same_size.exists()
    # downloading allowed: still neither removed nor overwritten, and the error says why
    for name, b in blobs.items():
        server.routes[f"/p/{name}"] = ("ok", b)
    with pytest.raises(DatasetCorrupt, match="left untouched"):
        load_mnist(folder, subset="test", spec=spec, progress=False)
    assert junk.read_bytes() == b"my thesis, chapter 3"
    assert same_size.read_bytes() == bytes(len(blobs["t10k-labels-idx1-ubyte.gz"]))
    assert sorted(os.listdir(folder)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_files_in_the_cache_that_chainrule_did_not_write_are_left_alone(setup, monkeypatch):
    blobs, _, server, _, root = setup
    monkeypatch.setenv("CHAINRULE_DATA", str(root / "home"))
    cache = root / "home" / "mnist"
    for name, b in blobs.items():
        server.routes[f"/p/{name}"] = ("ok", b)
    spec = _spec(blobs, [server.url + "/p/"])
    load_mnist(subset="test", spec=spec, progress=False)            # chainrule downloads two files
    mine = cache / "train-images-idx3-ubyte.gz"                     # the user copies one in
    mine.write_bytes(b"the user's own copy")
    edited = cache / "t10k-labels-idx1-ubyte.gz"                    # and edits one chainrule wrote
    edited.write_bytes(b"edited by hand")
    with pytest.raises(DatasetCorrupt) as info:
        load_mnist(download=False, spec=spec, progress=False)
    text = str(info.value)
    assert f"{mine} has 19 bytes" in text and f"{edited} has 14 bytes" in text
    assert text.count("left untouched (chainrule did not download it)") == 2 and "removed" not in text
    assert mine.read_bytes() == b"the user's own copy" and edited.read_bytes() == b"edited by hand"


def test_an_interrupted_download_leaves_no_partial_file(setup, monkeypatch):
    blobs, cache, server, outside_before, root = setup
    for name, b in blobs.items():
        server.routes[f"/p/{name}"] = ("ok", b)

    class Interrupting:
        def update(self, n):
            raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setattr("chainrule.datasets.download._progress", lambda *a: Interrupting())
    with pytest.raises(KeyboardInterrupt):
        load_mnist(cache, spec=_spec(blobs, [server.url + "/p/"]), progress=True)
    assert os.listdir(cache) == []                                   # the .part file is gone
    assert _tree(root) == outside_before


def test_a_fifo_or_an_outward_link_named_like_a_data_file_is_refused_and_left(setup):
    import threading
    blobs, _, _, _, root = setup
    folder = root / "data"
    folder.mkdir()
    outside = root / "elsewhere.gz"
    outside.write_bytes(blobs["t10k-images-idx3-ubyte.gz"])
    (folder / "t10k-images-idx3-ubyte.gz").symlink_to(outside)
    os.mkfifo(folder / "t10k-labels-idx1-ubyte.gz")
    result = {}

    def load():
        try:
            load_mnist(folder, download=False, subset="test", spec=_spec(blobs, ["http://127.0.0.1:9/"]),
                       progress=False)
        except DatasetCorrupt as exc:
            result["error"] = str(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "a FIFO named like a data file made the loader hang"
    assert f"t10k-labels-idx1-ubyte.gz must be a regular file; got a FIFO (named pipe); left untouched" in result["error"]
    assert f"t10k-images-idx3-ubyte.gz must stay inside {folder}; got a link to {outside}" in result["error"]
    assert (folder / "t10k-images-idx3-ubyte.gz").is_symlink() and outside.exists()
    assert os.path.exists(folder / "t10k-labels-idx1-ubyte.gz")
