"""How a module describes itself: constructor config, model-file spec, declared shapes, repr, summary.

``Module`` inherits these methods from ``DescribeMethods`` (core/module.py keeps the contract
itself: registration, forward/backward, traversal, modes); subclasses override ``get_config`` and
``state_shapes``. Model files store ``spec()`` and check ``state_shapes`` before building anything;
``registry.build_module`` rebuilds a module through ``from_config``.
"""
from __future__ import annotations

from .summary import summarize


class DescribeMethods:
    """The self-description part of ``Module`` (a mixin: it relies on ``Module``'s ``_modules``)."""

    #: True for containers whose children run one after another on the output of the one before
    #: (``Sequential``): the summary follows the shapes through them
    chains_children = False

    def get_config(self) -> dict:
        """Constructor arguments as JSON-able values; ``from_config`` rebuilds the module.

        Returns
        -------
        dict
            Keyword arguments of the constructor.
        """
        return {}

    @classmethod
    def state_shapes(cls, config: dict, shapes_of=None) -> dict:
        """The shapes of the parameters and buffers a module built from ``config`` would have.

        Computed without building the module, so that a model file can be checked against them before
        anything is allocated.

        Parameters
        ----------
        config : dict
            What ``get_config()`` returned.
        shapes_of : callable, optional
            ``shapes_of(spec) -> dict``: the shapes of a child built from ``spec``; containers need it.

        Returns
        -------
        dict
            ``{name: shape}``, named as in ``state_dict``.
        """
        return {}

    def spec(self) -> dict:
        """What a model file stores for this module.

        Returns
        -------
        dict
            ``{"type": class name, "config": get_config()}``.
        """
        return {"type": type(self).__name__, "config": self.get_config()}

    @classmethod
    def from_config(cls, config: dict, build=None) -> "Module":
        """Rebuild a module from ``get_config()``.

        Parameters
        ----------
        config : dict
            What ``get_config()`` returned.
        build : callable, optional
            ``build(spec) -> Module`` for the children of a container
            (``chainrule.registry.build_module``).

        Returns
        -------
        Module
            A new module with freshly initialised parameters (``load_state_dict`` sets their values).
        """
        return cls(**config)

    # -- what a layer declares for the gradient check, ONNX and PyTorch ------------------------------
    #: gradient-check cases, rows ``(label, make(d, rng) -> module, inputs((N, d), rng) -> x)`` in float64;
    #: ``chainrule gradcheck`` and the test suite run every registered layer's (``chainrule.grad_cases``)
    grad_cases: tuple = ()

    @staticmethod
    def onnx_nodes(g, config: dict, state: dict, prefix: str, x: str) -> str:
        """Add the ONNX nodes that compute a module of this type (in evaluation mode) to ``g``.

        Parameters
        ----------
        g : chainrule.io.export.graph.Graph
            The graph being built: ``g.node(op, inputs, hint, **attributes)``, ``g.const(array, hint)``
            and, for a container, ``g.emit(child_spec, state, x, prefix)``.
        config : dict
            What ``get_config()`` returned.
        state : dict
            The network's ``state_dict()``: this module's tensors are ``state[prefix + name]``.
        prefix : str
            This module's name in the network, with a trailing dot (``"0."``; ``""`` at the top).
        x : str
            The name of the input tensor.

        Returns
        -------
        str
            The name of the output tensor.

        Raises
        ------
        NotImplementedError
            For a type without an ONNX form (the default).
        """
        raise NotImplementedError("this layer type has no ONNX form")

    @staticmethod
    def torch_modules(config: dict) -> list:
        """The ``torch.nn`` constructor calls that compute what a module of this type computes.

        Plain data (PyTorch is not imported): ``chainrule.io.to_torch`` makes the calls, in a
        ``torch.nn.Sequential`` when there are several, and loads the ``state_dict`` strictly.

        Parameters
        ----------
        config : dict
            What ``get_config()`` returned.

        Returns
        -------
        list of tuple
            ``(name, args, kwargs)`` for each ``torch.nn.<name>(*args, **kwargs)``.

        Raises
        ------
        NotImplementedError
            For a type without a PyTorch equivalent (the default).
        """
        raise NotImplementedError("this layer type has no PyTorch equivalent")

    def _fused_spec(self):
        """What this module is for the compiled engine (``_compiled.fuse``): plain data with its
        Parameters, or None (the default: a chain holding it runs the reference modules).

        Returns
        -------
        dict or None
        """
        return None

    # -- display ----------------------------------------------------------------------------------
    def summary(self, input_shape=None):
        """A table of every layer, its output shape and its number of parameters, with totals.

        Parameters
        ----------
        input_shape : tuple of int, optional
            The shape of one sample, without the batch axis (``(784,)`` or ``(1, 28, 28)``); without it
            the output shapes are left out.

        Returns
        -------
        Summary
            Printable; ``str()`` gives the table.
        """
        return summarize(self, input_shape)

    def extra_repr(self) -> str:
        """The arguments shown inside the module's ``repr``.

        Returns
        -------
        str
            ``key=value`` pairs of ``get_config()``.
        """
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)
