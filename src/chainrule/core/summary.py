"""``Module.summary()``: each layer, its output shape and its number of parameters, with totals."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Summary:
    """A network's table: rows of (name, type, output shape, parameters), and the totals.

    ``print(net.summary((64,)))`` or, in a notebook, just ``net.summary((64,))`` (an HTML table).
    """

    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    input_shape: tuple | None = None
    #: rows (by layer name) that run as fused compiled steps (``Sequential.fused_modules``)
    fused: tuple = ()

    def __str__(self) -> str:
        header = ("layer", "type", "output shape", "parameters") + (("runs",) if self.fused else ())
        marked = set(self.fused)
        body = [(name, kind, shape, f"{n:,}") + (("fused" if name.strip() in marked else "",) if marked else ())
                for name, kind, shape, n in self.rows]
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
        line = "  ".join("-" * w for w in widths)
        fmt = lambda r: "  ".join(  # noqa: E731
            (f"{v:>{w}}" if i == 3 else f"{v:<{w}}") for i, (v, w) in enumerate(zip(r, widths)))
        out = [fmt(header), line] + [fmt(r) for r in body] + [line]
        if self.fused:
            out.append(f"fused: {len(self.fused)} layers run as fused compiled steps (chainrule.show_config())")
        out.append(f"total parameters: {self.total_params:,} ({self.trainable_params:,} trainable)"
                   + (f"; input {_shape_text((None,) + tuple(self.input_shape))}" if self.input_shape is not None else ""))
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        cells = "".join(f"<tr><td>{n}</td><td>{k}</td><td>{s}</td><td style='text-align:right'>{p:,}</td></tr>"
                        for n, k, s, p in self.rows)
        return ("<table><thead><tr><th>layer</th><th>type</th><th>output shape</th><th>parameters</th></tr>"
                f"</thead><tbody>{cells}</tbody></table><p>total parameters: {self.total_params:,} "
                f"({self.trainable_params:,} trainable)</p>")


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(["N", *(str(int(d)) for d in shape[1:])]) + ("," if len(shape) == 1 else "") + ")"


def summarize(module, input_shape=None) -> Summary:
    """The Summary of ``module`` for samples of ``input_shape`` (without the batch axis; None: shapes
    are not computed)."""
    rows, fused = [], []

    def own_params(m) -> int:
        return sum(p.value.size for p in m._parameters.values())

    def visit(m, name, shape, depth, is_fused=False):
        out = None
        if shape is not None:
            out = tuple(m.output_shape(shape))
        label = ("  " * depth) + (name or type(m).__name__)
        children = list(m._modules.items())
        if m.chains_children and children:
            s = shape
            runs_fused = m.fused_modules() if hasattr(m, "fused_modules") else set()
            for child_name, child in children:
                s = visit(child, f"{name}.{child_name}" if name else child_name, s, depth,
                          is_fused or child_name in runs_fused)
            return out
        if is_fused:
            fused.append(label.strip())
        rows.append((label, type(m).__name__, _shape_text(out), own_params(m)))
        for child_name, child in children:          # other containers (Residual): each child from the input
            visit(child, f"{name}.{child_name}" if name else child_name, shape, depth + 1, is_fused)
        return out

    shape = None if input_shape is None else (1,) + tuple(int(d) for d in input_shape)
    visit(module, "", shape, 0)
    params = module.parameters()
    total = sum(p.value.size for p in params)
    return Summary(rows, total, total, None if input_shape is None else tuple(input_shape), tuple(fused))
