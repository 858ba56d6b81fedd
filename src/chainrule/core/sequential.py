"""Sequential: modules applied one after another; backward runs them in reverse (the chain rule)."""
from __future__ import annotations

from .module import Module


class Sequential(Module):
    """``Sequential(Linear(784, 100), ReLU(), Linear(100, 10))``.

    Children are named ``"0"``, ``"1"``, ... so parameter names match PyTorch's ``nn.Sequential``.

    ``backward(g, need_input_grad=False)`` stops at the first module that has parameters and
    asks it for no input gradient: the layers before it have nothing to learn, so propagating
    further would compute a gradient nobody asked for.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules; argument {i} is {type(m).__name__}")
            setattr(self, str(i), m)

    def append(self, module: Module) -> "Sequential":
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
        for m in self._modules.values():
            x = m.forward(x)
        return x

    def backward(self, grad_output, *, need_input_grad: bool = True):
        mods = list(self._modules.values())
        stop = 0
        if not need_input_grad:
            # index of the first module with parameters: nothing before it needs a gradient
            stop = next((i for i, m in enumerate(mods) if m.has_parameters()), len(mods))
        g = grad_output
        for i in range(len(mods) - 1, stop - 1, -1):
            wants_dx = need_input_grad or i > stop
            g = mods[i].backward(g, need_input_grad=wants_dx)
        return g if need_input_grad else None
