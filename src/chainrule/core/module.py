"""Module: the contract every differentiable unit obeys.

``forward(x)`` computes the output and keeps what ``backward`` needs; ``backward(grad_output)``
adds dL/d(parameter) to every parameter's ``.grad`` and returns dL/dx. Parameters and child
modules assigned as attributes are registered in order, so names are dotted paths that match
PyTorch's (``0.weight`` inside a ``Sequential``).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

import numpy as np

from ..errors import NoForwardError
from .parameter import Parameter


class Module:
    """Base class of layers and containers."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration -----------------------------------------------------------------------------
    def __setattr__(self, name, value) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if (value is None or type(value) is np.ndarray) and name not in params and name not in buffers \
                and name not in modules:
            d[name] = value          # the common case in forward(): caching an array for backward
            return
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params:
            raise TypeError(
                f"{type(self).__name__}.{name} is a Parameter; assign a Parameter "
                f"(or set {name}.value); got {type(value).__name__}"
            )
        elif name in buffers:
            buffers[name] = np.asarray(value)
            value = buffers[name]
        elif name in modules:
            raise TypeError(f"{type(self).__name__}.{name} is a Module; got {type(value).__name__}")
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value) -> None:
        """Register state that is saved with the model but not trained (running statistics)."""
        self._buffers[name] = np.asarray(value)
        object.__setattr__(self, name, self._buffers[name])

    # -- computation ------------------------------------------------------------------------------
    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_output, *, need_input_grad: bool = True):  # pragma: no cover - abstract
        """Accumulate parameter gradients and return dL/dx.

        With ``need_input_grad=False`` a module may skip computing dL/dx and return ``None`` (the
        first layer of a network: nobody needs the gradient with respect to the data).
        """
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def _require_cache(self, cache):
        if cache is None:
            raise NoForwardError(f"{type(self).__name__}.backward() was called before forward()")
        return cache

    # -- traversal --------------------------------------------------------------------------------
    def children(self) -> Iterator["Module"]:
        return iter(self._modules.values())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for mod_name, mod in self.named_modules(prefix):
            for name, p in mod._parameters.items():
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for mod_name, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                yield (f"{mod_name}.{name}" if mod_name else name), b

    def has_parameters(self) -> bool:
        return any(True for _ in self.named_parameters())

    # -- modes and gradients ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    # -- state ------------------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and buffer, C-contiguous, in registration order.

        Names and layouts are PyTorch's: ``0.weight`` of shape (out, in), ``1.running_mean``...
        """
        state = OrderedDict()
        for mod_name, mod in self.named_modules():
            for name, p in mod._parameters.items():
                state[f"{mod_name}.{name}" if mod_name else name] = np.array(p.value, order="C")
            for name, b in mod._buffers.items():
                state[f"{mod_name}.{name}" if mod_name else name] = np.array(b, order="C")
        return state

    def load_state_dict(self, state, strict: bool = True) -> None:
        """Copy arrays into the existing parameters and buffers (their dtype and layout are kept).

        With ``strict`` every key must match; shapes must always match.
        """
        own = OrderedDict()
        for mod_name, mod in self.named_modules():
            for name in mod._parameters:
                own[f"{mod_name}.{name}" if mod_name else name] = (mod, name, "param")
            for name in mod._buffers:
                own[f"{mod_name}.{name}" if mod_name else name] = (mod, name, "buffer")
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise ValueError(f"state_dict does not match {type(self).__name__}: " + "; ".join(parts))
        for key, (mod, name, kind) in own.items():
            if key not in state:
                continue
            src = np.asarray(state[key])
            dst = mod._parameters[name].value if kind == "param" else mod._buffers[name]
            if src.shape != dst.shape:
                raise ValueError(f"state_dict[{key!r}] must have shape {dst.shape}; got {src.shape}")
            if src.dtype.kind not in "fiub":
                raise TypeError(f"state_dict[{key!r}] must be numeric; got dtype {src.dtype}")
            if dst.ndim == 0:
                new = np.array(src, dtype=dst.dtype)
                if kind == "buffer":
                    setattr(mod, name, new)
                else:
                    mod._parameters[name].value = new
            else:
                np.copyto(dst, src, casting="unsafe")

    def astype(self, dtype) -> "Module":
        """Convert every floating parameter and buffer to ``dtype`` (float32 or float64), in place."""
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"dtype must be a floating-point type; got {dt}")
        for m in self.modules():
            for p in m._parameters.values():
                if p.value.dtype != dt:
                    p.value = p.value.astype(dt, order="K")
            for name, b in list(m._buffers.items()):
                if b.dtype.kind == "f" and b.dtype != dt:
                    setattr(m, name, b.astype(dt))
        return self

    @property
    def dtype(self):
        ps = self.parameters()
        return ps[0].value.dtype if ps else None

    # -- display ----------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)
