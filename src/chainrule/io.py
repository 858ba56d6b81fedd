"""Model files: safetensors for the arrays, JSON for the architecture and preprocessing. No pickle.

``save(obj, path)`` writes a network (``nn.Sequential``), a fitted chainrule estimator, or a
scikit-learn ``Pipeline`` of chainrule preprocessing steps ending in one, to a single
``.safetensors`` file; ``load(path)`` rebuilds it. Writes are atomic.

Layout of the file:

- The network's parameters and buffers keep their PyTorch ``Sequential`` names and layouts
  (``0.weight`` of shape (out, in), ``1.running_mean``...), so the same tensors load into an
  equivalent ``torch.nn.Sequential`` (see the README for the mapping).
- Every other array (preprocessing statistics, numeric class labels...) is named ``extra.<path>``.
- The metadata entry ``chainrule`` holds the JSON description; ``chainrule.sha256`` a SHA-256 over
  that description and every tensor, so a truncated or altered file is refused with one error.

Only chainrule's own classes (and scikit-learn's ``Pipeline``) can be rebuilt: the description
names a class from a fixed list, never an importable path.
"""
from __future__ import annotations

import hashlib
import json
import math
import re

import numpy as np

from ._atomic import atomic_write_bytes
from .core.module import Module
from .core.sequential import Sequential
from .layers import BatchNorm1d, Dropout, Identity, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from .training.history import History

FORMAT = "chainrule-model"
VERSION = 1
_SKIP_ATTRS = {"_rng", "_optimizer"}          # run state, not model state: rebuilt fresh on load
_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*$")


class ModelFileError(ValueError):
    """A model file is missing, truncated, altered or not a chainrule model."""


# ---- layers ----------------------------------------------------------------------------------------
def _layer_config(m: Module) -> dict:
    dt = lambda p: str(p.value.dtype)  # noqa: E731
    if isinstance(m, Linear):
        return {"type": "Linear", "in_features": m.in_features, "out_features": m.out_features,
                "bias": m.bias is not None, "dtype": dt(m.weight)}
    if isinstance(m, BatchNorm1d):
        return {"type": "BatchNorm1d", "num_features": m.num_features, "momentum": m.momentum, "eps": m.eps,
                "dtype": dt(m.weight)}
    if isinstance(m, Dropout):
        return {"type": "Dropout", "p": m.p}
    if isinstance(m, ReLU):
        return {"type": "ReLU", "inplace": m.inplace}
    if isinstance(m, LeakyReLU):
        return {"type": "LeakyReLU", "negative_slope": m.negative_slope}
    for cls in (Sigmoid, Tanh, Softmax, Identity):
        if type(m) is cls:
            return {"type": cls.__name__}
    raise TypeError(f"cannot save a {type(m).__name__} layer: chainrule.io knows Linear, BatchNorm1d, Dropout, "
                    "ReLU, LeakyReLU, Sigmoid, Tanh, Softmax and Identity")


def _build_layer(cfg: dict) -> Module:
    kind = cfg.get("type")
    if kind == "Linear":
        return Linear(int(cfg["in_features"]), int(cfg["out_features"]), bias=bool(cfg["bias"]), rng=0,
                      dtype=cfg["dtype"], init="zeros")
    if kind == "BatchNorm1d":
        return BatchNorm1d(int(cfg["num_features"]), momentum=cfg["momentum"], eps=cfg["eps"], dtype=cfg["dtype"])
    if kind == "Dropout":
        return Dropout(float(cfg["p"]))
    if kind == "ReLU":
        return ReLU(inplace=bool(cfg.get("inplace", False)))
    if kind == "LeakyReLU":
        return LeakyReLU(float(cfg["negative_slope"]))
    simple = {"Sigmoid": Sigmoid, "Tanh": Tanh, "Softmax": Softmax, "Identity": Identity}
    if kind in simple:
        return simple[kind]()
    raise ModelFileError(f"unknown layer type {kind!r} in the model description")


def architecture(model: Module) -> list[dict]:
    """The JSON description of a Sequential (or of a single layer, as a one-layer Sequential)."""
    layers = list(model) if isinstance(model, Sequential) else [model]
    for m in layers:
        if isinstance(m, Sequential):
            raise TypeError("cannot save nested Sequentials; flatten them into one")
    return [_layer_config(m) for m in layers]


def build(arch: list[dict]) -> Sequential:
    if not isinstance(arch, list) or not all(isinstance(c, dict) for c in arch):
        raise ModelFileError("the model description has no valid list of layers")
    return Sequential(*[_build_layer(c) for c in arch])


# ---- the classes a file may name ----------------------------------------------------------------------
def _classes() -> dict:
    from sklearn.pipeline import Pipeline

    from .datasets.preprocessing import Flatten, ScaleToUnit, Standardize, SubtractMeanImage
    from .features import HOGFeatures, KNeighborsClassifier, NotesTransform, PolynomialFeatures
    from .models import LinearClassifier, LinearRegression, MLPClassifier, MLPRegressor, PolynomialRegression
    return {c.__name__: c for c in (LinearClassifier, LinearRegression, PolynomialRegression, MLPClassifier,
                                    MLPRegressor, KNeighborsClassifier, PolynomialFeatures, NotesTransform,
                                    HOGFeatures, ScaleToUnit, Standardize, SubtractMeanImage, Flatten, Pipeline)}


# ---- encoding -----------------------------------------------------------------------------------------
class _Writer:
    def __init__(self):
        self.tensors: dict[str, np.ndarray] = {}
        self.network_saved = False

    def array(self, a: np.ndarray, path: str):
        if a.dtype.kind in "US":
            return {"__strings__": a.tolist(), "dtype": a.dtype.str}
        if a.dtype.kind == "O":
            return {"__objects__": [self.value(v, f"{path}[{i}]") for i, v in enumerate(a.tolist())]}
        if a.dtype.kind not in "biuf":
            raise TypeError(f"cannot save {path}: arrays of dtype {a.dtype} are not supported")
        key = f"extra.{path}"
        self.tensors[key] = np.ascontiguousarray(a)
        return {"__array__": key}

    def module(self, m: Module, path: str):
        prefix = "" if not self.network_saved else f"extra.{path}."
        self.network_saved = True
        for k, v in m.state_dict().items():
            self.tensors[prefix + k] = v
        return {"__module__": architecture(m), "prefix": prefix}

    def value(self, v, path: str):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, (float, np.floating)):
            f = float(v)
            return f if math.isfinite(f) else {"__float__": repr(f)}
        if isinstance(v, np.ndarray):
            return self.array(v, path)
        if isinstance(v, type) and issubclass(v, np.generic):
            return {"__dtype__": np.dtype(v).name}
        if isinstance(v, np.dtype):
            return {"__dtype__": v.name}
        if isinstance(v, (list, tuple)):
            items = [self.value(x, f"{path}.{i}") for i, x in enumerate(v)]
            return {"__tuple__": items} if isinstance(v, tuple) else items
        if isinstance(v, dict):
            return {"__dict__": [[self.value(k, f"{path}.key"), self.value(x, f"{path}.{k}")] for k, x in v.items()]}
        if isinstance(v, Module):
            return self.module(v, path)
        if isinstance(v, History):
            return {"__history__": v.to_dict()}
        classes = _classes()
        name = type(v).__name__
        if classes.get(name) is type(v):
            return self.estimator(v, path)
        raise TypeError(f"cannot save {path}: objects of type {type(v).__name__} are not supported")

    def estimator(self, est, path: str):
        name = type(est).__name__
        if name == "Pipeline":
            return {"__pipeline__": [[n, self.value(step, f"{path}.{n}")] for n, step in est.steps]}
        params = {k: self.value(v, f"{path}.{k}") for k, v in est.get_params(deep=False).items()}
        attrs = {}
        for k, v in vars(est).items():
            if k in params or k in _SKIP_ATTRS or not _NAME.match(k):
                continue
            attrs[k] = self.value(v, f"{path}.{k}")
        return {"__estimator__": name, "params": params, "attrs": attrs}


class _Reader:
    def __init__(self, tensors: dict):
        self.tensors = tensors
        self.used: set[str] = set()

    def tensor(self, key: str) -> np.ndarray:
        if key not in self.tensors:
            raise ModelFileError(f"the model description refers to a tensor {key!r} that the file does not hold")
        self.used.add(key)
        return self.tensors[key]

    def value(self, v):
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "__array__" in v:
            return self.tensor(v["__array__"]).copy()
        if "__strings__" in v:
            return np.array(v["__strings__"], dtype=np.dtype(v["dtype"]))
        if "__objects__" in v:
            out = np.empty(len(v["__objects__"]), dtype=object)
            out[:] = [self.value(x) for x in v["__objects__"]]
            return out
        if "__float__" in v:
            return float(v["__float__"])
        if "__dtype__" in v:
            name = v["__dtype__"]
            if name not in ("float32", "float64", "int64", "int32", "uint8", "bool"):
                raise ModelFileError(f"unsupported dtype {name!r} in the model description")
            return np.dtype(name).type
        if "__tuple__" in v:
            return tuple(self.value(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {self.value(k): self.value(x) for k, x in v["__dict__"]}
        if "__history__" in v:
            return History.from_dict(v["__history__"])
        if "__module__" in v:
            model = build(v["__module__"])
            prefix = v.get("prefix", "")
            own = model.state_dict()
            model.load_state_dict({k: self.tensor(prefix + k) for k in own})
            model.eval()
            return model
        if "__pipeline__" in v:
            from sklearn.pipeline import Pipeline
            return Pipeline([(str(n), self.value(step)) for n, step in v["__pipeline__"]])
        if "__estimator__" in v:
            return self.estimator(v)
        raise ModelFileError(f"unrecognised entry in the model description: {sorted(v)[:3]}")

    def estimator(self, v):
        classes = _classes()
        name = v["__estimator__"]
        if name not in classes:
            raise ModelFileError(f"the model file names a class {name!r} that chainrule does not load")
        est = classes[name](**{k: self.value(x) for k, x in v.get("params", {}).items()})
        for k, x in v.get("attrs", {}).items():
            if not _NAME.match(k) or k.startswith("__"):
                raise ModelFileError(f"invalid attribute name {k!r} in the model description")
            object.__setattr__(est, k, self.value(x))
        return est


# ---- files --------------------------------------------------------------------------------------------
def _digest(description: str, tensors: dict) -> str:
    h = hashlib.sha256(description.encode("utf-8"))
    for key in sorted(tensors):
        a = np.ascontiguousarray(tensors[key])
        h.update(f"\0{key}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(obj, path) -> None:
    """Write ``obj`` (a Sequential, a fitted estimator, or a Pipeline ending in one) to ``path``."""
    from safetensors.numpy import save as st_save

    w = _Writer()
    if isinstance(obj, Module):
        body = w.module(obj, "model")
    else:
        body = w.value(obj, "model")
        if not isinstance(body, dict) or not ({"__estimator__", "__pipeline__"} & set(body)):
            raise TypeError(f"save takes a Sequential, a chainrule estimator or a Pipeline; got {type(obj).__name__}")
    description = json.dumps({"format": FORMAT, "version": VERSION, "object": body}, sort_keys=True)
    metadata = {"chainrule": description, "chainrule.sha256": _digest(description, w.tensors), "format": "np"}
    atomic_write_bytes(path, st_save(w.tensors, metadata=metadata))


def read(path):
    """(description dict, tensors) of a model file, verified; raises ModelFileError."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder; give the model file (model.safetensors) inside it") from None
    try:
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8:8 + header_len]).get("__metadata__", {})
    except (SafetensorError, ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path} is not a valid model file (truncated or damaged?): {exc}") from None
    description = metadata.get("chainrule")
    if description is None:
        raise ModelFileError(f"{path} is a safetensors file but not a chainrule model (no description); "
                             "load its tensors with safetensors directly")
    if _digest(description, tensors) != metadata.get("chainrule.sha256"):
        raise ModelFileError(f"{path} has been altered or damaged: its checksum does not match its contents")
    try:
        desc = json.loads(description)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: the model description is not valid JSON: {exc}") from None
    if desc.get("format") != FORMAT:
        raise ModelFileError(f"{path}: unknown format {desc.get('format')!r}")
    if desc.get("version", 0) > VERSION:
        raise ModelFileError(f"{path} was written by a newer chainrule (format version {desc['version']})")
    return desc, tensors


def load(path):
    """Rebuild what ``save`` wrote; networks come back in evaluation mode."""
    desc, tensors = read(path)
    reader = _Reader(tensors)
    try:
        return reader.value(desc["object"])
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the model description does not fit the tensors: {exc}") from None


def network_state(path) -> dict:
    """Just the network's tensors, under PyTorch ``Sequential`` names (no ``extra.`` entries)."""
    _, tensors = read(path)
    return {k: v for k, v in tensors.items() if not k.startswith("extra.")}
