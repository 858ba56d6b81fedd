"""Fixtures of the command-line tests: small trained runs, the installed script, and files that
are damaged in the ways the audit found (bad JSON, missing keys, NaN arrays, a decompression bomb)."""
import json
import os
import shutil
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main


@pytest.fixture(scope="session")
def chainrule_exe():
    """The installed console script of this environment (.venv/bin/chainrule)."""
    exe = shutil.which("chainrule", path=os.path.dirname(sys.executable)) or shutil.which("chainrule")
    assert exe, "the chainrule console script is not installed"
    return exe


@pytest.fixture(scope="session")
def offline_env(tmp_path_factory):
    """Environment for subprocesses: an empty data home, and proxies that lead nowhere, so that
    nothing a test runs can reach the network even by mistake."""
    home = tmp_path_factory.mktemp("data-home")
    nowhere = "http://127.0.0.1:9"
    return dict(os.environ, CHAINRULE_DATA=str(home), http_proxy=nowhere, https_proxy=nowhere,
                HTTP_PROXY=nowhere, HTTPS_PROXY=nowhere, no_proxy="", NO_PROXY="")


def _train(out: Path, *options) -> Path:
    assert main(["train", "--epochs", "1", "--quiet", "--out", str(out), *options]) == 0
    return out


def bomb_png(path: Path, side: int) -> Path:
    """A valid 1-bit PNG of side x side pixels: a few kilobytes on disk, side^2 pixels decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    z = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)                       # filter byte + the row's bits, all zero
    parts = [z.compress(row * 1000) for _ in range(side // 1000)] + [z.compress(row * (side % 1000)), z.flush()]
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
           + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """Every file the bad-input rows need, by name."""
    root = tmp_path_factory.mktemp("cli-files")
    f = {"root": root}
    f["run"] = _train(root / "digits-linear", "--model", "linear")                 # 8 x 8 images, 10 classes
    f["blobs_run"] = _train(root / "blobs-linear", "--dataset", "blobs", "--model", "linear")  # 2 numbers, 3 classes
    f["hinge_run"] = _train(root / "blobs-hinge", "--dataset", "blobs", "--model", "linear", "--loss", "hinge")
    f["model_file"] = f["run"] / "model.safetensors"
    (root / "lone").mkdir()
    f["lone_model"] = root / "lone" / "digits.safetensors"          # a model file with no config.json beside it
    shutil.copy(f["model_file"], f["lone_model"])
    f["file"] = root / "notes.txt"
    f["file"].write_text("not a model, not an image\n")
    f["folder"] = root / "a-folder"
    f["folder"].mkdir()
    f["missing"] = root / "no" / "such" / "path"
    from chainrule.datasets import load_digits
    digits = load_digits()
    np.save(root / "four.npy", digits.X_test[:4])
    f["npy"] = root / "four.npy"
    np.save(root / "nan.npy", np.full((2, 8, 8), np.nan))
    f["nan_npy"] = root / "nan.npy"
    np.save(root / "empty.npy", np.zeros((0, 64)))
    f["empty_npy"] = root / "empty.npy"
    np.save(root / "wrong-shape.npy", np.zeros((3, 5)))
    f["wrong_shape_npy"] = root / "wrong-shape.npy"
    np.save(root / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    f["pickle_npy"] = root / "objects.npy"
    (root / "truncated.npy").write_bytes((root / "four.npy").read_bytes()[:100])
    f["truncated_npy"] = root / "truncated.npy"
    (root / "fake.png").write_bytes(b"this is text, not a PNG")
    f["fake_png"] = root / "fake.png"
    f["bomb_png"] = bomb_png(root / "bomb.png", 20_000)              # 400 megapixels: Pillow's own limit
    f["big_png"] = bomb_png(root / "big.png", 7_000)                 # 49 megapixels: above chainrule's 40
    f["points_npy"] = root / "points.npy"
    np.save(f["points_npy"], np.array([[0.5, -1.0], [2.0, 1.0]]))

    def damaged(name: str, edit) -> Path:
        folder = root / name
        shutil.copytree(f["run"], folder)
        config = folder / "config.json"
        text = edit(json.loads(config.read_text()))
        config.write_text(text if isinstance(text, str) else json.dumps(text))
        return folder

    f["bad_json_run"] = damaged("bad-json", lambda c: json.dumps(c)[:-40])
    f["no_dataset_run"] = damaged("no-dataset", lambda c: {k: v for k, v in c.items() if k != "dataset"})
    f["wrong_types_run"] = damaged("wrong-types", lambda c: {**c, "dataset": {**c["dataset"], "class_names": 3}})
    f["bad_shape_run"] = damaged("bad-shape", lambda c: {**c, "dataset": {**c["dataset"], "image_shape": "8x8"}})
    f["list_config_run"] = damaged("list-config", lambda c: [1, 2, 3])
    f["no_model_run"] = root / "no-model"
    shutil.copytree(f["run"], f["no_model_run"])
    (f["no_model_run"] / "model.safetensors").unlink()
    f["broken_model_run"] = root / "broken-model"
    shutil.copytree(f["run"], f["broken_model_run"])
    model = f["broken_model_run"] / "model.safetensors"
    model.write_bytes(model.read_bytes()[:1000])
    f["empty_data"] = root / "empty-data"
    f["empty_data"].mkdir()
    return f
