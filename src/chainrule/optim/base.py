"""Optimizer: the loop over parameters shared by every update rule.

Each rule is one plain function ``<rule>_update(w, g, state, ...)`` next to its formula (``sgd.py``,
``adam.py``, ``rmsprop.py``, ``adagrad.py``) that changes the weight ``w`` in place from its
gradient ``g`` and the parameter's own ``state`` dict. An optimizer class holds the parameters,
the hyperparameters and one state dict per parameter; ``step()`` calls the rule for every
parameter that has a gradient, then applies the parameter's ``constraint`` (max-norm).
"""
from __future__ import annotations

from .._helpers import array as xp
from .._helpers.validation import check_number
from ..core.module import Module
from ..core.parameter import Parameter
from ..errors import TrainingDiverged


class Optimizer:
    """Base class of the optimizers: the loop over the parameters shared by every update rule.

    ``step()`` calls the rule (``sgd_update``, ``adam_update``...) for every parameter that has a
    gradient, then applies the parameter's constraint (max-norm). The training loop is the notes'::

        opt.zero_grad(); loss = L(model(X), y); model.backward(L.backward()); opt.step()

    Parameters
    ----------
    params : Module or iterable of Parameter
        What to update (a module stands for ``module.parameters()``).
    lr : float > 0
        The learning rate (the notes' alpha).

    Raises
    ------
    ValueError
        If ``params`` is empty or lists a parameter twice, or ``lr`` is not positive.
    TypeError
        If an entry of ``params`` is not a Parameter.
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
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("params lists one Parameter twice; it would be updated twice per step")
        self.lr = check_number("lr", lr, 0.0, low_inclusive=False)
        self.state: list[dict] = [{} for _ in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad`` becomes None, as PyTorch's set-to-none)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Apply the update rule to every parameter that has a gradient, then its constraint.

        Raises
        ------
        TrainingDiverged
            If an update overflows (the message says which parameter and what to try).
        """
        self.steps += 1
        with xp.overflow_raises():
            for i, (p, state) in enumerate(zip(self.params, self.state)):
                if p.grad is None:
                    continue
                try:
                    self._update(p.value, p.grad, state)
                except FloatingPointError as exc:
                    raise TrainingDiverged(
                        f"{type(self).__name__} step {self.steps}: the update of parameter {i} "
                        f"(shape {p.value.shape}, {p.value.dtype}) overflowed ({exc}); the largest gradient "
                        f"entry is {xp.largest_abs(p.grad):.3g}. Scale the input features (e.g. "
                        "standardise them) or lower the learning rate.", lr=self.lr) from None
                if p.constraint is not None:
                    p.constraint.apply(p.value)

    def _update(self, w, g, state: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- state ----------------------------------------------------------------------------------
    def hyperparameters(self) -> dict:
        """The settings of the rule (JSON-able); checkpoints compare them on resume.

        Returns
        -------
        dict
            ``{"lr": ..., ...}``, one entry per constructor argument but ``params``.
        """
        return {"lr": self.lr}

    def state_dict(self):
        """Everything needed to resume bit for bit.

        Returns
        -------
        arrays : dict
            Per-parameter state arrays keyed ``"<index>.<name>"`` (``"0.exp_avg"``).
        scalars : dict
            JSON-able values: the type, the step count, the hyperparameters, and per-parameter scalars
            under ``"param_scalars"``.
        """
        arrays, per_param = {}, {}
        for i, st in enumerate(self.state):
            for k, v in st.items():
                if k.startswith("_"):          # scratch space, not state (e.g. Adam's "_scratch")
                    continue
                if xp.is_array(v):
                    arrays[f"{i}.{k}"] = xp.to_host(v)
                else:
                    per_param.setdefault(str(i), {})[k] = v
        return arrays, {"type": type(self).__name__, "steps": self.steps, "param_scalars": per_param,
                        **self.hyperparameters()}

    def load_state_dict(self, arrays, scalars) -> None:
        """Restore what ``state_dict`` returned (the hyperparameters included).

        Parameters
        ----------
        arrays : dict
            The per-parameter arrays.
        scalars : dict
            The JSON-able values.

        Raises
        ------
        ValueError
            If the state is another optimizer's, names a parameter that does not exist, or has an array
            of the wrong shape.
        """
        if scalars.get("type", type(self).__name__) != type(self).__name__:
            raise ValueError(f"optimizer state is for {scalars.get('type')}; this is {type(self).__name__}")
        self.steps = int(scalars.get("steps", 0))
        for k in self.hyperparameters():
            if k in scalars:
                v = scalars[k]
                setattr(self, k, tuple(v) if isinstance(v, list) else v)
        self.state = [{} for _ in self.params]
        for i, values in scalars.get("param_scalars", {}).items():
            if not i.isdigit() or int(i) >= len(self.params):
                raise ValueError(f"optimizer state has an entry for parameter {i}; there are {len(self.params)}")
            self.state[int(i)].update(values)
        for key, arr in arrays.items():
            idx, name = key.split(".", 1)
            i = int(idx)
            if i >= len(self.params):
                raise ValueError(f"optimizer state has an entry for parameter {i}; there are {len(self.params)}")
            like = self.params[i].value
            if arr.shape != like.shape:
                raise ValueError(f"optimizer state {key!r} must have shape {like.shape}; got {arr.shape}")
            buf = xp.empty_like(like)   # the parameter's memory layout, as a fresh run's state has
            xp.copy_into(buf, arr)
            self.state[i][name] = buf

    def __repr__(self):
        hp = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp})"
