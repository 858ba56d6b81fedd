"""A module's arrays by name: ``state_dict``, ``load_state_dict``, ``astype`` and ``dtype``.

``Module`` inherits these methods from ``StateMethods``; names and layouts are PyTorch's
(``0.weight`` of shape (out, in), ``1.running_mean``), so model files and ``torch.nn`` agree.
"""
from __future__ import annotations

from collections import OrderedDict

from .._helpers import array as xp


class StateMethods:
    """The state part of ``Module`` (a mixin: it relies on ``Module``'s ``named_modules``,
    ``modules``, ``parameters``, ``_parameters`` and ``_buffers``)."""

    def _named_state(self):
        for mod_name, mod in self.named_modules():
            for name in mod._parameters:
                yield (f"{mod_name}.{name}" if mod_name else name), mod, name, "param"
            for name in mod._buffers:
                yield (f"{mod_name}.{name}" if mod_name else name), mod, name, "buffer"

    def state_dict(self) -> "OrderedDict[str, xp.ndarray]":
        """Copies of every parameter and buffer, C-contiguous, in registration order.

        Names and layouts are PyTorch's: ``0.weight`` of shape (out, in), ``1.running_mean``...

        Returns
        -------
        collections.OrderedDict
            ``{name: ndarray}``.
        """
        state = OrderedDict()
        for key, mod, name, kind in self._named_state():
            arr = mod._parameters[name].value if kind == "param" else mod._buffers[name]
            state[key] = xp.to_host(arr)
        return state

    def load_state_dict(self, state, strict: bool = True) -> None:
        """Copy arrays into the existing parameters and buffers (their dtype and layout are kept).

        Parameters
        ----------
        state : mapping
            ``{name: array}``, as ``state_dict()`` returns.
        strict : bool, default True
            Every key must match when True; shapes must always match.

        Raises
        ------
        ValueError
            If keys are missing or unexpected (``strict``), or a shape differs.
        TypeError
            If an array is not numeric.
        """
        own = OrderedDict((key, (mod, name, kind)) for key, mod, name, kind in self._named_state())
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
            src = xp.as_array(state[key])
            dst = mod._parameters[name].value if kind == "param" else mod._buffers[name]
            if src.shape != dst.shape:
                raise ValueError(f"state_dict[{key!r}] must have shape {dst.shape}; got {src.shape}")
            if src.dtype.kind not in "fiub":
                raise TypeError(f"state_dict[{key!r}] must be numeric; got dtype {src.dtype}")
            if dst.ndim == 0:
                new = xp.scalar(src, dst.dtype)
                if kind == "buffer":
                    setattr(mod, name, new)
                else:
                    mod._parameters[name].value = new
            else:
                xp.copy_into(dst, src)

    def astype(self, dtype) -> "Module":
        """Convert every floating parameter and buffer to ``dtype``, in place.

        Parameters
        ----------
        dtype : dtype or str
            A floating-point type (float32 or float64).

        Returns
        -------
        Module
            This module.

        Raises
        ------
        TypeError
            If ``dtype`` is not a floating-point type.
        """
        dt = xp.dtype_of(dtype)
        if dt.kind != "f":
            raise TypeError(f"dtype must be a floating-point type; got {dt}")
        for m in self.modules():
            for p in m._parameters.values():
                if p.value.dtype != dt:
                    p.value = p.value.astype(dt, order="K")
                    p.zero_grad()
            for name, b in list(m._buffers.items()):
                if b.dtype.kind == "f" and b.dtype != dt:
                    setattr(m, name, b.astype(dt))
        return self

    @property
    def dtype(self):
        """The dtype of the first parameter (None for a module without parameters)."""
        ps = self.parameters()
        return ps[0].value.dtype if ps else None
