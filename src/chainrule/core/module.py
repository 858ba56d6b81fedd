"""Module: the contract every differentiable unit obeys.

``forward(x)`` computes the output with the unit's forward kernel and keeps the kernel's cache;
``backward(grad_output)`` hands that cache and dL/d(output) to the backward kernel, adds the
parameter gradients to every parameter's ``.grad`` and returns dL/dx. The kernels are plain
functions (``layers/linear.py``: ``linear_forward``/``linear_backward``); a module only holds
parameters, calls its kernels and keeps the cache (always in ``self._cache``).

Parameters and child modules assigned as attributes are registered in order, so names are
dotted paths that match PyTorch's (``0.weight`` inside a ``Sequential``).

A module keeps the cache of its *last* forward only, so one module object cannot appear twice in
a network: the containers refuse it with an error that says how to tie weights instead (two
modules sharing one ``Parameter``; each backward adds its contribution to the shared ``grad``).

This file is the contract (registration, forward/backward, traversal, modes). Two helpers that
``Module`` inherits keep it short: ``_describe.py`` (``get_config``, ``spec``, ``from_config``,
``state_shapes``, ``repr``, ``summary``) and ``_state.py`` (``state_dict``, ``load_state_dict``,
``astype``, ``dtype``). Subclasses (the layers users pickle) stay where they are; only these
method bodies moved.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

from .._helpers import array as xp
from ..errors import NoForwardError
from ._describe import DescribeMethods
from ._state import StateMethods
from .parameter import Parameter

#: changes whenever a Parameter or a child module is assigned to any module: what caches keyed on a
#: network's structure compare (``Sequential``'s fused chain), instead of walking the network per call
STRUCTURE = [0]


class Module(DescribeMethods, StateMethods):
    """Base class of layers and containers.

    What a training loop may ask of a module, instead of looking at its class:

    - ``min_train_batch``: the smallest batch it can train on (batch norm: 2);
    - ``generators()``: the random generators it draws from (dropout masks), which checkpoints
      save and gradient checks rewind;
    - ``output_shape(input_shape)``: the shape of its output for an input of that shape;
    - ``get_config()``: its constructor arguments as JSON-able values (model files rebuild it
      through ``chainrule.registry.build_module``).

    ``get_config``, ``spec``, ``state_shapes``, ``from_config``, ``summary`` and ``repr`` come from
    ``core/_describe.py``; ``state_dict``, ``load_state_dict``, ``astype`` and ``dtype`` from
    ``core/_state.py``.
    """

    training: bool
    #: the smallest number of samples a training batch may have
    min_train_batch: int = 1

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_cache", None)

    # -- registration -----------------------------------------------------------------------------
    def __setattr__(self, name, value) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if name == "_cache" or ((value is None or xp.is_array(value)) and name not in params
                                and name not in buffers and name not in modules):
            d[name] = value
            return
        if isinstance(value, (Parameter, Module)):
            STRUCTURE[0] += 1
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            self._refuse_repeats(name, value)
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params:
            raise TypeError(
                f"{type(self).__name__}.{name} is a Parameter; assign a Parameter "
                f"(or set {name}.value); got {type(value).__name__}"
            )
        elif name in buffers:
            buffers[name] = xp.as_array(value)
            value = buffers[name]
        elif name in modules:
            raise TypeError(f"{type(self).__name__}.{name} is a Module; got {type(value).__name__}")
        object.__setattr__(self, name, value)

    def _refuse_repeats(self, name: str, child: "Module") -> None:
        """A module keeps one forward cache, so it may appear only once in a network."""
        mine = {id(m): path for path, m in self.named_modules() if not _under(path, name)}
        for path, m in child.named_modules(name):
            if id(m) in mine:
                where = mine[id(m)] or "the container itself"
                raise ValueError(
                    f"{type(m).__name__} at {path!r} is the same object as the one at {where!r}: a module "
                    "keeps the cache of its last forward, so applying it twice would give a wrong gradient. "
                    "To tie weights, use two modules that share one Parameter (b.weight = a.weight); "
                    "backward then adds both contributions to the shared grad."
                )

    def register_buffer(self, name: str, value) -> None:
        """Register state that is saved with the model but not trained (running statistics).

        Parameters
        ----------
        name : str
            The attribute name; ``state_dict`` lists the buffer under it.
        value : array_like
            Its initial value.
        """
        self._buffers[name] = xp.as_array(value)
        object.__setattr__(self, name, self._buffers[name])

    # -- pickling ---------------------------------------------------------------------------------
    def __getstate__(self):
        """Everything but the cache of the last forward: a copy made by ``pickle``, ``joblib.dump``
        or a parallel search never needs the activations of a batch it did not see (often larger
        than the weights). The copy starts with no cache, as a new module does."""
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    # -- computation ------------------------------------------------------------------------------
    def forward(self, x):  # pragma: no cover - abstract
        """Compute the output for the batch ``x`` and keep what ``backward`` needs.

        Parameters
        ----------
        x : ndarray
            A batch, samples along the first axis.

        Returns
        -------
        ndarray
            The module's output for ``x``.
        """
        raise NotImplementedError

    def backward(self, grad_output, *, need_input_grad: bool = True):  # pragma: no cover - abstract
        """Add dL/d(parameter) to every parameter's ``grad`` and return dL/dx.

        The chain rule through one module: given dL/dy for the output y of the last ``forward``, the
        module computes dL/dW = dL/dy dy/dW for its parameters and dL/dx = dL/dy dy/dx for its input.

        Parameters
        ----------
        grad_output : ndarray
            dL/dy, the gradient of the loss with respect to the last output (its shape).
        need_input_grad : bool, default True
            With False the module computes no dL/dx and returns None (the first layer of a network:
            nobody needs the gradient with respect to the data).

        Returns
        -------
        ndarray or None
            dL/dx, the shape of the last input; None when ``need_input_grad`` is False.

        Raises
        ------
        NoForwardError
            If there was no ``forward`` before.
        """
        raise NotImplementedError

    def __call__(self, x):
        """Apply the module: ``module(x)`` is ``module.forward(x)``.

        Parameters
        ----------
        x : ndarray
            A batch, samples along the first axis.

        Returns
        -------
        ndarray
            The output of ``forward``.
        """
        return self.forward(x)

    def _cached(self):
        """The cache of the last forward; NoForwardError if there was none."""
        cache = self._cache
        if cache is None:
            raise NoForwardError(f"{type(self).__name__}.backward() was called before forward()")
        return cache

    # -- what a training loop may ask ---------------------------------------------------------------
    def generators(self) -> list:
        """The random generators this module itself draws from (not its children's).

        Checkpoints save their states and gradient checks rewind them, so a module that draws random
        numbers (dropout masks) must return its generators here.

        Returns
        -------
        list of numpy.random.Generator
            Empty for a deterministic module.
        """
        return []

    def output_shape(self, input_shape: tuple) -> tuple:
        """The output's shape for an input of ``input_shape``.

        Parameters
        ----------
        input_shape : tuple of int
            The input's shape (with or without the batch axis).

        Returns
        -------
        tuple of int
            The output's shape (default: the same shape).
        """
        return tuple(input_shape)

    # -- traversal --------------------------------------------------------------------------------
    def children(self) -> Iterator["Module"]:
        """The direct child modules, in registration order.

        Returns
        -------
        iterator of Module
        """
        return iter(self._modules.values())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every module inside it, depth first, with their dotted names.

        Parameters
        ----------
        prefix : str, default ""
            The name given to this module (children are named ``prefix.child``).

        Yields
        ------
        name : str
            The dotted path (``""`` for this module when ``prefix`` is empty).
        module : Module
        """
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        """This module and every module inside it, depth first.

        Yields
        ------
        Module
        """
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter once, under its first name (a shared Parameter is listed once).

        Parameters
        ----------
        prefix : str, default ""
            Prepended to every name (``prefix.0.weight``).

        Yields
        ------
        name : str
            The dotted name, as in PyTorch (``0.weight``).
        parameter : Parameter
        """
        seen = set()
        for mod_name, mod in self.named_modules(prefix):
            for name, p in mod._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> list[Parameter]:
        """Every parameter once, in registration order (what an optimizer updates).

        Returns
        -------
        list of Parameter
        """
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, "xp.ndarray"]]:
        """Every buffer (state saved but not trained, such as running statistics) with its dotted name.

        Parameters
        ----------
        prefix : str, default ""
            Prepended to every name.

        Yields
        ------
        name : str
        buffer : ndarray
        """
        for mod_name, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                yield (f"{mod_name}.{name}" if mod_name else name), b

    def has_parameters(self) -> bool:
        """Whether this module or a child holds a parameter.

        Returns
        -------
        bool
        """
        return any(True for _ in self.named_parameters())

    def all_generators(self) -> list:
        """Every distinct random generator in the network, in module order (what checkpoints save).

        Returns
        -------
        list of numpy.random.Generator
        """
        gens, seen = [], set()
        for m in self.modules():
            for g in m.generators():
                if id(g) not in seen:
                    seen.add(id(g))
                    gens.append(g)
        return gens

    # -- modes and gradients ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Switch this module and its children to training mode (or evaluation mode).

        Dropout drops units and batch norm uses the batch's statistics only in training mode.

        Parameters
        ----------
        mode : bool, default True
            True for training, False for evaluation.

        Returns
        -------
        Module
            This module.
        """
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Switch to evaluation mode: ``train(False)``.

        Returns
        -------
        Module
            This module.
        """
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad`` becomes None)."""
        for p in self.parameters():
            p.zero_grad()


def _under(path: str, name: str) -> bool:
    """True when ``path`` is ``name`` or inside it (the child being replaced)."""
    return path == name or path.startswith(name + ".")
