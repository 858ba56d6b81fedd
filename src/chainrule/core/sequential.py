"""Sequential: modules applied one after another; backward runs them in reverse (the chain rule).

With the compiled kernels enabled when it is built (``_compiled.enabled()``, numba installed), a
Sequential whose chain the fused engine knows (``_compiled.fuse``, from each module's
``_fused_spec()``) runs it as fused steps: the same math as the modules, channels-last between
them, the batch split over workers. Its forward and backward return what the modules' would and
accumulate the same gradients; any other chain, or an input the engine does not take, runs the
modules one by one.
"""
from __future__ import annotations

from .. import _compiled
from .module import STRUCTURE, Module


class Sequential(Module):
    r"""Modules applied one after another: f = f_n o ... o f_1.

    ``Sequential(Linear(784, 100), ReLU(), Linear(100, 10))`` is the notes' two-layer network.
    Children are named ``"0"``, ``"1"``, ... so parameter names match PyTorch's ``nn.Sequential``.

    Parameters
    ----------
    *modules : Module
        The modules, in the order the input flows through them.

    Raises
    ------
    TypeError
        If an argument is not a Module.

    Notes
    -----
    ``backward(g)`` applies the chain rule from the last module to the first,

    .. math:: \frac{\partial L}{\partial h_{i-1}} = \mathrm{backward}_i\left(\frac{\partial L}{\partial h_i}\right).

    A model computes no gradient nobody asked for: by default it stops at the first module with
    parameters and asks it for no input gradient (the layers before it have nothing to learn, and
    nobody needs dL/dx of the data). Pass ``need_input_grad=True`` to get dL/dx (gradient checks
    and saliency maps do).
    """

    chains_children = True

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules; argument {i} is {type(m).__name__}")
            setattr(self, str(i), m)
        self._compile = _compiled.enabled()      # decided when the network is built
        self._fused_ran = False

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end.

        Parameters
        ----------
        module : Module
            The new last module (named ``str(len(self))``).

        Returns
        -------
        Sequential
            This container.

        Raises
        ------
        TypeError
            If ``module`` is not a Module.
        """
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append takes a Module; got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        mods = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*mods[index])
        return mods[index]

    def forward(self, x):
        """Apply every module in order: h_i = f_i(h_{i-1}), h_0 = x.

        Parameters
        ----------
        x : ndarray
            A batch, samples along the first axis.

        Returns
        -------
        ndarray
            The last module's output.
        """
        chain = self._fused_chain()
        if chain is not None and chain.accepts(x, self.training):
            for m in self.modules():
                m._cache = None                   # the modules' own caches would be stale
            y = chain.forward(x, self.training)
            self._fused_ran = True
            # a large batch in evaluation mode ran in pieces; a backward (a saliency map) re-runs
            # the modules on it, which in evaluation mode compute the same function
            self._pieces_input = x if chain.in_pieces else None
            return y
        self._fused_ran = False
        for m in self._modules.values():
            x = m.forward(x)
        return x

    def _fused_chain(self):
        """The fused chain of these children (``_compiled.fuse``), or None; recomputed when a child
        or a Parameter is replaced."""
        if not self.__dict__.get("_compile"):
            return None
        cached = self.__dict__.get("_fused_cache")
        if cached is not None and cached[0] == STRUCTURE[0]:
            return cached[2]                      # nothing assigned anywhere since: no walk per call
        mods = tuple(self._modules.values())
        key = (mods, tuple(id(p) for p in self.parameters()))
        if cached is None or cached[1] != key:
            cached = (None, key, _compiled.fuse([m._fused_spec() for m in mods]))
        cached = self.__dict__["_fused_cache"] = (STRUCTURE[0],) + cached[1:]
        return cached[2]

    def __getstate__(self):
        """As ``Module.__getstate__``, without the fused plan (its buffers and its worker team)."""
        state = super().__getstate__()
        state.pop("_fused_cache", None)
        state["_fused_ran"] = False
        state["_pieces_input"] = None
        return state

    def fused_modules(self) -> set:
        """Names of the children that run fused (empty when the chain runs module by module).

        Returns
        -------
        set of str
        """
        chain = self._fused_chain()
        if chain is None:
            return set()
        names = list(self._modules)
        return {names[i] for i in chain.fused_indices()}

    def _plan(self):
        """(modules in order, index of the first with parameters), recomputed when children change.

        Parameters cannot appear or vanish without assigning a child, so the identities of the
        children are enough to know the plan is current.
        """
        mods = tuple(self._modules.values())
        plan = self.__dict__.get("_plan_cache")
        if plan is None or plan[0] != mods:
            first = next((i for i, m in enumerate(mods) if m.has_parameters()), len(mods))
            plan = self.__dict__["_plan_cache"] = (mods, first)
        return plan

    def backward(self, grad_output, *, need_input_grad: bool = False):
        """Backpropagate dL/d(output) through the modules in reverse order.

        Parameters
        ----------
        grad_output : ndarray
            dL/dy for the output of the last ``forward``.
        need_input_grad : bool, default False
            Compute and return dL/dx; by default the pass stops at the first module with parameters.

        Returns
        -------
        ndarray or None
            dL/dx when ``need_input_grad``, else None.
        """
        if self.__dict__.get("_fused_ran"):
            if self.__dict__.get("_pieces_input") is None:
                return self._fused_chain().backward(grad_output, need_input_grad)
            self._fused_ran = False
            h = self._pieces_input
            for m in self._modules.values():
                h = m.forward(h)
            self._pieces_input = None
        mods, first = self._plan()
        stop = 0 if need_input_grad else first
        g = grad_output
        for i in range(len(mods) - 1, stop - 1, -1):
            g = mods[i].backward(g, need_input_grad=need_input_grad or i > stop)
        return g if need_input_grad else None

    def output_shape(self, input_shape):
        """The shape after every module, for an input of ``input_shape``.

        Parameters
        ----------
        input_shape : tuple of int
            The input's shape.

        Returns
        -------
        tuple of int
        """
        shape = tuple(input_shape)
        for m in self._modules.values():
            shape = m.output_shape(shape)
        return shape

    def get_config(self) -> dict:
        """The children's specs, for a model file.

        Returns
        -------
        dict
            ``{"modules": [child.spec(), ...]}``.
        """
        return {"modules": [m.spec() for m in self._modules.values()]}

    @classmethod
    def from_config(cls, config, build=None):
        """Rebuild from ``get_config()``, building each child with ``build``.

        Parameters
        ----------
        config : dict
            ``{"modules": [spec, ...]}``.
        build : callable
            ``build(spec) -> Module`` (``chainrule.registry.build_module``).

        Returns
        -------
        Sequential

        Raises
        ------
        TypeError
            If ``build`` is not given.
        """
        if build is None:
            raise TypeError("Sequential.from_config needs build (chainrule.registry.build_module)")
        return cls(*[build(spec) for spec in config["modules"]])

    @classmethod
    def state_shapes(cls, config, shapes_of=None):
        """The children's parameter and buffer shapes, under ``"i.name"``.

        Parameters
        ----------
        config : dict
            ``{"modules": [spec, ...]}``.
        shapes_of : callable
            ``shapes_of(spec) -> dict`` for one child.

        Returns
        -------
        dict
            ``{name: shape}``.
        """
        out = {}
        for i, spec in enumerate(config["modules"]):
            out.update({f"{i}.{k}": v for k, v in shapes_of(spec).items()})
        return out

    def extra_repr(self) -> str:
        """Nothing: the children are listed on their own lines.

        Returns
        -------
        str
            ``""``.
        """
        return ""
