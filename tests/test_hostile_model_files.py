"""Hostile model files and checkpoints, through the real readers (io.load, Trainer.resume): each is
refused (or read harmlessly) at a peak memory of at most 4 x its size + 64 MB, measured in a child
process by ``refused_cheaply`` (tests/test_hostile_files.py)."""
import json
import os

import numpy as np
import pytest
from test_hostile_files import npz_bomb, refused_cheaply

from chainrule import io, nn

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from /proc")


def forge(path, description: dict, tensors: dict):
    """A model file with any description and tensors, and a checksum that matches (anyone can compute it)."""
    from safetensors.numpy import save
    text = json.dumps(description)
    meta = {"chainrule": text, "chainrule.sha256": io.files._digest(text, tensors), "format": "np"}
    path.write_bytes(save(tensors, metadata=meta))
    return path


def small_linear():
    lin = nn.Linear(4, 3, rng=0)
    return {k: v for k, v in lin.state_dict().items()}


def test_a_file_declaring_a_huge_layer_is_refused_before_allocating(tmp_path):
    spec = {"type": "Sequential", "config": {"modules": [{"type": "Linear", "config": {
        "in_features": 60000, "out_features": 60000, "bias": True, "dtype": "float32", "init": "uniform"}}]}}
    tensors = {"0." + k: v for k, v in small_linear().items()}
    path = forge(tmp_path / "model.safetensors", {"format": "chainrule-model", "version": 2,
                                                 "object": {"__module__": spec, "prefix": ""}}, tensors)
    assert path.stat().st_size < 1000                                 # declaring 14.4 GB of weights
    refused_cheaply("Linear(60000, 60000) declared in under 1 KB", path, "from chainrule import io", "io.load(path)",
                    "ModelFileError", "declares '0.weight' of shape (60000, 60000); the file holds shape (3, 4)")


def test_a_string_array_declaring_a_huge_width_costs_nothing(tmp_path):
    """chainrule 0.1 stored a string array's dtype; '<U300000000' made one label take 1.2 GB."""
    from sklearn.datasets import load_digits

    from chainrule.models import LinearClassifier
    X, y = load_digits(return_X_y=True)
    labels = np.array(["zero", "one"])[(y[:100] > 4).astype(int)]
    path = tmp_path / "model.safetensors"
    io.save(LinearClassifier(max_iter=1, random_state=0).fit(X[:100] / 16, labels), path)
    desc, tensors = io.read(path)
    state = desc["object"]["state"]
    state["classes_"] = {"__strings__": state["classes_"]["__strings__"], "dtype": "<U300000000"}
    forge(path, desc, tensors)
    result = refused_cheaply("string dtype <U300000000", path, "from chainrule import io, models",
                             "m = io.load(path); assert m.classes_.dtype.itemsize <= 16; raise ValueError('loaded')",
                             "ValueError", "loaded")
    assert result["growth"] < 64 << 20


def test_a_description_nested_100000_deep_is_one_clear_error(tmp_path):
    text = '{"format": "chainrule-model", "version": 2, "object": ' + "[" * 100_000 + "]" * 100_000 + "}"
    from safetensors.numpy import save
    meta = {"chainrule": text, "chainrule.sha256": io.files._digest(text, {}), "format": "np"}
    path = tmp_path / "model.safetensors"
    path.write_bytes(save({}, metadata=meta))
    refused_cheaply("description nested 100,000 deep", path, "from chainrule import io", "io.load(path)",
                    "ModelFileError", "the model description is nested more than 256 levels deep")


def test_a_stored_attribute_never_shadows_a_method(tmp_path):
    from chainrule.models import LinearClassifier
    path = tmp_path / "model.safetensors"
    io.save(LinearClassifier(max_iter=1, random_state=0).fit(np.eye(4), [0, 1, 0, 1]), path)
    desc, tensors = io.read(path)
    desc["object"]["state"]["predict"] = "gotcha"
    forge(path, desc, tensors)
    with pytest.raises(io.ModelFileError, match=r"sets LinearClassifier.predict, which is not a fitted attribute"):
        io.load(path)


def test_a_checkpoint_bomb_is_refused_by_resume_before_decompressing(tmp_path):
    bomb = npz_bomb(tmp_path / "run.npz", 1888)
    refused_cheaply("checkpoint npz bomb through Trainer.resume", bomb,
                    "from chainrule import nn, losses, optim; from chainrule.training import Trainer; "
                    "m = nn.Sequential(nn.Linear(4, 3)); t = Trainer(m, losses.SoftmaxLogLikelihood(), "
                    "optim.SGD(m, lr=0.1), rng=0)",
                    "t.resume(path)", "ValueError", "is not a readable chainrule checkpoint")


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "link-out"])
def test_model_files_that_are_not_regular_files_inside_their_folder_are_refused(tmp_path, kind):
    run = tmp_path / "run"
    run.mkdir()
    path = run / "model.safetensors"
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
        expected = "must stay inside"
    elif kind == "fifo":
        os.mkfifo(path)
        expected = "must be a regular file; got a FIFO"
    else:
        outside = tmp_path / "elsewhere.safetensors"
        io.save(nn.Sequential(nn.Linear(2, 2)), outside)
        path.symlink_to(outside)
        expected = "must stay inside"
    refused_cheaply(f"model file: {kind}", path, "from chainrule import io", "io.load(path)", "ModelFileError",
                    expected)
