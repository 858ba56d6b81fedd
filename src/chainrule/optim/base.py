"""Optimizer: one update rule per class, per-parameter state, step() and zero_grad()."""
from __future__ import annotations

import numpy as np

from ..core.module import Module
from ..core.parameter import Parameter


def _check_number(name, value, low=0.0, low_inclusive=True, high=None):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and np.isfinite(value) and (value >= low if low_inclusive else value > low) \
        and (high is None or value < high)
    if not ok:
        bound = f"{'>=' if low_inclusive else '>'} {low:g}" + (f" and < {high:g}" if high is not None else "")
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return float(value)


class Optimizer:
    """Base class: holds the parameters (a Module or an iterable of Parameters) and the learning rate.

    ``step()`` applies the update rule to every parameter, then its ``constraint`` (``MaxNorm``)
    if it has one. ``state_dict()`` returns ``(arrays, scalars)``: per-parameter state arrays keyed
    ``"<index>.<name>"`` and JSON-able scalars, enough to resume bit for bit.
    """

    def __init__(self, params, lr: float):
        if isinstance(params, Module):
            params = params.parameters()
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError("params must contain at least one Parameter; got none")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}] must be a Parameter; got {type(p).__name__}")
        self.lr = _check_number("lr", lr, 0.0, low_inclusive=False)
        self.state: list[dict] = [{} for _ in self.params]
        self.steps = 0

    #: True for optimizers that can use gradients pre-multiplied by the learning rate (SGD)
    prescales_gradients = False

    def zero_grad(self, scale: float = 1.0) -> None:
        """Mark every gradient zero; ``scale`` as in ``Parameter.zero_grad``."""
        for p in self.params:
            p.zero_grad(scale)

    def step(self) -> None:
        self.steps += 1
        update = self._update
        for p, state in zip(self.params, self.state):
            update(p, state)
            if p.constraint is not None:
                p.constraint.apply(p.value)

    def _update(self, p: Parameter, state: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _scratch(self, state: dict, like: np.ndarray, key: str = "_scratch") -> np.ndarray:
        buf = state.get(key)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype or buf.strides != like.strides:
            buf = state[key] = np.empty_like(like)
        return buf

    def _effective_grad(self, p: Parameter, state: dict, weight_decay: float) -> np.ndarray:
        """grad + weight_decay * w (coupled weight decay, as PyTorch), without touching p.grad."""
        g, zero = p.grad_target()
        if zero or p.grad_scale != 1.0:    # nothing was written (zero), or a scaled buffer
            g = p.grad
        if weight_decay:
            tmp = self._scratch(state, g)
            np.multiply(p.value, weight_decay, out=tmp)
            tmp += g
            return tmp
        return g

    # -- state ----------------------------------------------------------------------------------
    def hyperparameters(self) -> dict:
        return {"lr": self.lr}

    def state_dict(self):
        """(arrays, scalars): per-parameter arrays keyed "<index>.<name>", and JSON-able scalars
        (per-parameter ones under "param_scalars")."""
        arrays, per_param = {}, {}
        for i, st in enumerate(self.state):
            for k, v in st.items():
                if k.startswith("_"):
                    continue
                if isinstance(v, np.ndarray):
                    arrays[f"{i}.{k}"] = np.array(v, order="C")
                else:
                    per_param.setdefault(str(i), {})[k] = v
        return arrays, {"type": type(self).__name__, "steps": self.steps, "param_scalars": per_param,
                        **self.hyperparameters()}

    def load_state_dict(self, arrays, scalars) -> None:
        if scalars.get("type", type(self).__name__) != type(self).__name__:
            raise ValueError(f"optimizer state is for {scalars.get('type')}; this is {type(self).__name__}")
        self.steps = int(scalars.get("steps", 0))
        for k in self.hyperparameters():
            if k in scalars:
                v = scalars[k]
                setattr(self, k, tuple(v) if isinstance(v, list) else v)
        self.state = [{} for _ in self.params]
        for i, values in scalars.get("param_scalars", {}).items():
            self.state[int(i)].update(values)
        for key, arr in arrays.items():
            idx, name = key.split(".", 1)
            i = int(idx)
            if i >= len(self.params):
                raise ValueError(f"optimizer state has an entry for parameter {i}; there are {len(self.params)}")
            like = self.params[i].value
            if arr.shape != like.shape:
                raise ValueError(f"optimizer state {key!r} must have shape {like.shape}; got {arr.shape}")
            buf = np.empty_like(like)
            np.copyto(buf, arr, casting="unsafe")
            self.state[i][name] = buf

    def __repr__(self):
        hp = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp})"
