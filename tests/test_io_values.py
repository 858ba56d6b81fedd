"""What a model file gives back is what was saved, and its description is strict JSON: tuples come
back as tuples, non-finite numbers are written tagged (``{"__float__": "nan"}``), never as the bare
NaN and Infinity that JSON forbids and strict readers (JavaScript's JSON.parse, serde_json, jq)
refuse, and arrays come back writeable.

Planted bugs these catch (``scripts/plant_bugs.py``), each a survivor of every other fast test:
io-02 (tuples written as lists: ``hidden_layer_sizes=(4,)`` came back as [4]) and io-03 (bare NaN in
the description).
"""
import json
import struct

import numpy as np

from chainrule import io
from chainrule.models import MLPClassifier


def header(path) -> str:
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    return data[8:8 + n].decode("utf-8")


def strict(text):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_tuples_come_back_as_tuples(tmp_path):
    rng = np.random.default_rng(0)
    est = MLPClassifier(hidden_layer_sizes=(4, 3), max_iter=2, random_state=0).fit(rng.standard_normal((20, 2)),
                                                                                 np.arange(20) % 2)
    io.save(est, tmp_path / "m.safetensors")
    back = io.load(tmp_path / "m.safetensors")
    assert back.get_params()["hidden_layer_sizes"] == (4, 3)
    assert type(back.get_params()["hidden_layer_sizes"]) is tuple
    for a in (v for v in vars(back).values() if isinstance(v, np.ndarray)):
        assert a.flags.writeable


def test_non_finite_numbers_are_strict_json_and_come_back(tmp_path):
    est = MLPClassifier(alpha=float("nan"), tol=float("inf"))
    io.save(est, tmp_path / "m.safetensors")
    strict(header(tmp_path / "m.safetensors"))
    for value in strict(header(tmp_path / "m.safetensors")).get("__metadata__", {}).values():
        if value[:1] in "[{":
            strict(value)
    back = io.load(tmp_path / "m.safetensors")
    assert np.isnan(back.alpha) and back.tol == float("inf")
