"""What the page draws, computed by the engine: the decision boundary (or the regression curve) on
a grid, each neuron's own small map, the weights, the loss curves and the numbers.

The page only paints these values; nothing of the network is computed in JavaScript. Grids are
sent as base64 bytes (class index and confidence 0-255 per cell; a neuron's activation scaled to
0-255 with its largest absolute value beside it), everything else as JSON numbers.
"""
from __future__ import annotations

import base64

import numpy as np

from .. import nn

GRID = 64           # boundary cells per side
NEURON_GRID = 20    # cells per side of a neuron's map
CURVE_POINTS = 200  # points of a regression curve
NEURON_CURVE = 40   # points of a neuron's curve over a 1-D input


def _b64(arr) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype=np.uint8).tobytes()).decode("ascii")


def _grid(extent, n: int, dims: int) -> np.ndarray:
    """Raw points of an n x n grid over the extent, row 0 at the top (largest x2), or n points along x."""
    x0, x1, y0, y1 = extent
    xs = np.linspace(x0, x1, n)
    if dims == 1:
        return xs[:, None]
    ys = np.linspace(y1, y0, n)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def _rounded(a, digits: int = 5) -> list:
    a = np.asarray(a, dtype=np.float64)
    a = np.where(np.isfinite(a), a, 0.0)
    return np.round(a, digits).tolist()


def hidden_taps(net) -> list:
    """The index of each hidden layer's activation module (its output is the layer's neurons)."""
    taps, mods = [], list(net)
    linear_idx = [i for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    for i in linear_idx[:-1]:
        j = i + 1
        while isinstance(mods[j], nn.BatchNorm1d):
            j += 1
        taps.append(j)
    return taps


class Pictures:
    """The grids of one run (fixed until its settings change) and the frames drawn on them.

    Parameters
    ----------
    session : Session
        A configured run.
    """

    def __init__(self, session):
        self.session = session
        d = session.data
        self.dims = d.dims
        n_grid, n_neuron = (GRID, NEURON_GRID) if d.dims == 2 else (CURVE_POINTS, NEURON_CURVE)
        self.grid = self._features(_grid(d.extent, n_grid, d.dims))
        self.neuron_grid = self._features(_grid(d.extent, n_neuron, d.dims))
        self.taps = hidden_taps(session.net)

    def _features(self, P) -> np.ndarray:
        # the XOR transform can be undefined (or overflow) on a grid point: such cells draw as 0
        with np.errstate(all="ignore"):
            try:
                F = self.session.features_of(P)
            except ValueError:
                F = np.vstack([self._one(p) for p in P])
        return np.where(np.isfinite(F), F, 0.0).astype(np.float32)

    def _one(self, p) -> np.ndarray:
        try:
            return self.session.features_of(p[None])
        except ValueError:
            return np.zeros((1, len(self.session.input_names)), dtype=np.float32)

    # -- once per run ------------------------------------------------------------------------------
    def layout(self) -> dict:
        """The points, the network's shape and what the axes cover: sent when a run is (re)built."""
        s, d = self.session, self.session.data

        def points(X, y):
            return {"x": _rounded(X, 4), "y": _rounded(y, 4) if d.task == "regression" else y.tolist()}

        return {
            "type": "layout", "task": d.task, "dims": d.dims, "classes": d.n_classes, "extent": list(d.extent),
            "train": points(d.X_train, d.y_train), "test": points(d.X_test, d.y_test),
            "inputs": s.input_names, "hidden": list(s.settings.hidden),
            "activations": list(s.settings.activations()), "outputs": s.task.n_outputs, "layout": s.task.layout,
            "grid": GRID if d.dims == 2 else CURVE_POINTS, "neuron_grid": NEURON_GRID if d.dims == 2 else NEURON_CURVE,
            "settings": s.settings.to_hash(),
        }

    # -- every frame --------------------------------------------------------------------------------
    def boundary(self) -> dict:
        """The model's prediction on the grid: class and confidence per cell, or the curve's values."""
        s = self.session
        with np.errstate(all="ignore"):
            scores = s.scores(self.grid)
        if s.data.task == "regression":
            return {"y": _rounded(scores[:, 0], 4)}
        scores = np.where(np.isfinite(scores), scores, 0.0)
        conf = np.nan_to_num(s.task.confidence(scores.astype(np.float64)))
        return {"cls": _b64(s.task.labels(scores)), "conf": _b64(np.round(conf * 255))}

    def neurons(self) -> list:
        """Each column of the network drawn over the plane: the inputs, every hidden layer's
        activations (evaluation mode), the outputs; per neuron ``[scale, base64 of 0-255]``, 127.5
        meaning 0 and 0 / 255 meaning -scale / +scale."""
        net = self.session.net
        h = self.neuron_grid
        columns = [h]
        net.eval()
        try:
            with np.errstate(all="ignore"):
                for i, m in enumerate(net):
                    h = m.forward(h)
                    if i in self.taps:
                        columns.append(h)
        finally:
            net.train()
        columns.append(h)
        out = []
        for col in columns:
            col = np.where(np.isfinite(col), col, 0.0)
            scale = np.abs(col).max(axis=0)
            safe = np.where(scale > 0, scale, 1.0)
            b = np.round((col / safe + 1) * 127.5)
            out.append([[float(f"{scale[j]:.3g}"), _b64(b[:, j])] for j in range(col.shape[1])])
        return out

    def weights(self) -> list:
        """Every Linear layer's weights and biases (rounded)."""
        return [{"index": i, "w": _rounded(m.weight.value, 4), "b": _rounded(m.bias.value, 4)}
                for i, m in self.session.linears]

    def frame(self) -> dict:
        """Everything the page redraws: the numbers, curves, boundary, neurons and weights."""
        s = self.session
        c = s.curves
        curves = {"epoch": list(c.epoch), "train": list(c.train), "test": list(c.test)}
        if c.epoch and c.epoch[-1] < s.epoch:      # between strides: the latest epoch ends the curve
            curves["epoch"].append(s.epoch)
            curves["train"].append(s.last["train_loss"])
            curves["test"].append(s.last["test_loss"])
        return {"type": "frame", "epoch": s.epoch, "batches": s.batches, **s.last, "curves": curves,
                "boundary": self.boundary(), "neurons": self.neurons(), "weights": self.weights(),
                "diverged": s.diverged}
