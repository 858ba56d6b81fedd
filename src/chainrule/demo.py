"""`make demo`: the notes' linear-regression toy trained by gradient descent.

X = {2, 4, 6, 8}, Y = {3, 4, 5, 6}; starting from random values, gradient descent on the L2 loss
reaches the notes' optimum w = 0.5, b = 2.0.
"""
from __future__ import annotations

import numpy as np

from . import losses, nn


def fit_regression_toy(steps: int = 5000, lr: float = 0.03, seed: int = 0):
    x = np.array([[2.0], [4.0], [6.0], [8.0]])
    y = np.array([[3.0], [4.0], [5.0], [6.0]])
    layer = nn.Linear(1, 1, rng=seed, dtype=np.float64)   # y = w x + b, random start
    loss = losses.L2Loss()
    history = []
    for step in range(steps):
        layer.zero_grad()
        value = loss(layer.forward(x), y)
        layer.backward(loss.backward())
        for p in layer.parameters():                      # W <- W - alpha dL/dW
            p.value -= lr * p.grad
        history.append(float(value))
    return float(layer.weight.value[0, 0]), float(layer.bias.value[0]), history


def main() -> None:
    w, b, history = fit_regression_toy()
    print("Linear regression toy of the notes: X = {2, 4, 6, 8}, Y = {3, 4, 5, 6}")
    print(f"gradient descent, {len(history)} steps: loss {history[0]:.4f} -> {history[-1]:.2e}")
    print(f"w = {w:.4f}, b = {b:.4f}   (the notes' optimum: w = 0.5, b = 2.0)")


if __name__ == "__main__":
    main()
