"""The chainrule model format: how an object becomes a JSON description plus named tensors, and back.

``files.py`` owns the files (safetensors container, checksum, atomic writes) and the public
functions; this module owns what goes inside: ``_Writer`` turns a network, estimator or Pipeline
into a description of tagged JSON values (``{"__array__": key}``, ``{"__module__": spec}``...) and
the tensors it refers to; ``_Reader`` turns them back, refusing anything a class does not declare;
``_legacy_spec`` translates chainrule 0.1's (format version 1) description of a network.

``ModelFileError`` is defined here, where the format's checks raise it, and shown as
``chainrule.io.ModelFileError`` (its ``__module__``), the one place users import it from.
"""
from __future__ import annotations

import math

import numpy as np

from .. import registry
from ..core.module import Module

MAX_DEPTH = 64                       # nesting of the description
_DTYPE_NAMES = ("float32", "float64", "int64", "int32", "uint8", "bool")


class ModelFileError(ValueError):
    """A model file is missing, truncated, altered, hostile or not a chainrule model."""


ModelFileError.__module__ = "chainrule.io"     # public home: pickles and docs name chainrule.io


# ---- encoding -----------------------------------------------------------------------------------------
def _fitted_names(obj) -> tuple:
    names = getattr(type(obj), "_fitted_attributes", None)
    if names is None:
        names = registry.FOREIGN_FITTED_ATTRIBUTES.get(type(obj).__name__)
    return tuple(names or ())


class _Writer:
    def __init__(self):
        self.tensors: dict[str, np.ndarray] = {}
        self.network_saved = False

    def array(self, a: np.ndarray, path: str):
        if a.dtype.kind == "U":
            return {"__strings__": a.tolist()}
        if a.dtype.kind == "O":
            return {"__objects__": [self.value(v, f"{path}[{i}]") for i, v in enumerate(a.tolist())]}
        if a.dtype.kind not in "biuf":
            raise TypeError(f"cannot save {path}: arrays of dtype {a.dtype} are not supported")
        key = f"extra.{path}"
        self.tensors[key] = np.array(a, order="C")     # (np.ascontiguousarray would make a 0-d array 1-d)
        return {"__array__": key}

    def module(self, m: Module, path: str):
        prefix = "" if not self.network_saved else f"extra.{path}."
        self.network_saved = True
        for k, v in m.state_dict().items():
            self.tensors[prefix + k] = v
        return {"__module__": m.spec(), "prefix": prefix}

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
        if registry.RECORDS.get(type(v).__name__) == type(v).__module__:     # a training History
            return {"__history__": v.to_dict()}
        return self.estimator(v, path)

    def estimator(self, est, path: str):
        name = type(est).__name__
        if registry.SAVEABLE.get(name) is None or registry.saveable_class(name) is not type(est):
            hint = registry.EQUIVALENTS.get(name)
            raise TypeError(f"cannot save {path}: chainrule.io saves chainrule's networks, estimators and "
                            f"transformers and scikit-learn's Pipeline, StandardScaler and MinMaxScaler; got "
                            f"{name}" + (f" (use chainrule's equivalent: {hint})" if hint else ""))
        if name == "Pipeline":
            return {"__pipeline__": [[n, self.value(step, f"{path}.{n}")] for n, step in est.steps]}
        params = {k: self.value(v, f"{path}.{k}") for k, v in est.get_params(deep=False).items()}
        state = {k: self.value(getattr(est, k), f"{path}.{k}") for k in _fitted_names(est) if hasattr(est, k)}
        return {"__estimator__": name, "params": params, "state": state}


# ---- decoding -----------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, tensors: dict, legacy: bool = False):
        self.tensors = tensors
        self.legacy = legacy

    def tensor(self, key: str) -> np.ndarray:
        if not isinstance(key, str) or key not in self.tensors:
            raise ModelFileError(f"the model description refers to a tensor {key!r} that the file does not hold")
        return self.tensors[key]

    def value(self, v, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ModelFileError(f"the model description is nested more than {MAX_DEPTH} levels deep")
        if isinstance(v, list):
            return [self.value(x, depth + 1) for x in v]
        if not isinstance(v, dict):
            return v
        if "__array__" in v:
            return self.tensor(v["__array__"]).copy()
        if "__strings__" in v:
            items = v["__strings__"]
            if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
                raise ModelFileError("a string array in the model description holds something else than strings")
            return np.array(items, dtype=str)   # the width comes from the strings, never from the file
        if "__objects__" in v:
            items = [self.value(x, depth + 1) for x in v["__objects__"]]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out
        if "__float__" in v:
            if v["__float__"] not in ("nan", "inf", "-inf"):
                raise ModelFileError(f"invalid number {v['__float__']!r} in the model description")
            return float(v["__float__"])
        if "__dtype__" in v:
            if v["__dtype__"] not in _DTYPE_NAMES:
                raise ModelFileError(f"unsupported dtype {v['__dtype__']!r} in the model description")
            return np.dtype(v["__dtype__"]).type
        if "__tuple__" in v:
            return tuple(self.value(x, depth + 1) for x in v["__tuple__"])
        if "__dict__" in v:
            return {self.value(k, depth + 1): self.value(x, depth + 1) for k, x in v["__dict__"]}
        if "__history__" in v:
            return registry.record_class("History").from_dict(v["__history__"])
        if "__module__" in v:
            return self.module(v, depth)
        if "__pipeline__" in v:
            steps = [(str(n), self.value(step, depth + 1)) for n, step in v["__pipeline__"]]
            return registry.saveable_class("Pipeline")(steps)
        if "__estimator__" in v:
            return self.estimator(v, depth)
        raise ModelFileError(f"unrecognised entry in the model description: {sorted(v)[:3]}")

    def module(self, v, depth):
        spec = _legacy_spec(v["__module__"]) if self.legacy else v["__module__"]
        prefix = v.get("prefix", "")
        expected = registry.state_shapes(spec)           # declared shapes, before anything is allocated
        present = {k[len(prefix):]: t for k, t in self.tensors.items() if k.startswith(prefix)
                   and (prefix or not k.startswith("extra."))}
        for key, shape in expected.items():
            if key not in present:
                raise ModelFileError(f"the model description declares a tensor {prefix + key!r} that the file "
                                     "does not hold")
            if tuple(present[key].shape) != tuple(shape):
                raise ModelFileError(f"the model description declares {prefix + key!r} of shape {tuple(shape)}; "
                                     f"the file holds shape {tuple(present[key].shape)}")
        model = registry.build_module(spec)
        model.load_state_dict({k: present[k] for k in expected})
        model.eval()
        return model

    def estimator(self, v, depth):
        name = v.get("__estimator__")
        try:
            cls = registry.saveable_class(name)
        except ValueError:
            raise ModelFileError(f"the model file names a class {name!r} that chainrule does not load") from None
        params = v.get("params", {})
        if not isinstance(params, dict):
            raise ModelFileError(f"the parameters of {name} in the model description are not a mapping")
        est = cls(**{k: self.value(x, depth + 1) for k, x in params.items()})
        allowed = set(_fitted_names(est))
        state = v.get("attrs" if self.legacy else "state", {})
        for k, x in state.items():
            if k not in allowed:
                if self.legacy and k in _LEGACY_IGNORED:
                    continue
                raise ModelFileError(f"the model file sets {name}.{k}, which is not a fitted attribute of {name}")
            object.__setattr__(est, k, self.value(x, depth + 1))
        return est


# attributes that chainrule 0.1 files hold and that are rebuilt (or no longer kept) on load
_LEGACY_IGNORED = {"_optimizer", "_rng"}


def _legacy_spec(arch) -> dict:
    """chainrule 0.1 described a network as a list of layer dicts: the Sequential's spec."""
    if not isinstance(arch, list) or not all(isinstance(c, dict) for c in arch):
        raise ModelFileError("the model description has no valid list of layers")
    modules = []
    for cfg in arch:
        cfg = dict(cfg)
        kind = cfg.pop("type", None)
        cfg.pop("inplace", None)             # 0.1's in-place ReLU; every kernel is pure now
        modules.append({"type": kind, "config": cfg})
    return {"type": "Sequential", "config": {"modules": modules}}
