"""
Every loss with the notes' worked example
=========================================

The notes work each loss out on small numbers: three images with three class scores for the
hinge loss, a ten-class probability vector for the log-likelihood and the cross-entropy, the
cat image's scores for the softmax. chainrule computes the same numbers. Logarithms are
natural throughout; where the notes' figure printed a base-10 value, both are shown.
"""

# %%
# The multiclass hinge (SVM) loss: 2.9, 0 and 12.9
# ------------------------------------------------
# L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1). The notes' table has one column per image
# (cat, car, frog) and one row per class; here each image is a row of scores, and labels count
# from 0 (cat = 0, car = 1, frog = 2).
import math

import numpy as np

from chainrule import losses

scores = np.array([[3.2, 5.1, -1.7],     # the cat image: scores for cat, car, frog
                   [1.3, 4.9, 2.0],      # the car image
                   [2.2, 2.5, -3.1]])    # the frog image
labels = np.array([0, 1, 2])
per_image = losses.MulticlassHinge(reduction="none").forward(scores, labels)
print("hinge loss per image:", np.round(per_image, 2))
print(f"L = (2.9 + 0 + 12.9) / 3 = {losses.MulticlassHinge().forward(scores, labels):.2f}")

# %%
# The binary hinge: L_i = max(0, 1 - y_i s), y_i = +1 or -1. A positive sample scored 0.3 is
# inside the margin and costs 0.7; one scored 2 costs nothing.
binary = losses.BinaryHinge(reduction="none")
print("binary hinge of s = (0.3, 2.0, -0.5) with y = (+1, +1, -1):",
      binary.forward(np.array([0.3, 2.0, -0.5]), np.array([1, 1, -1])))

# %%
# The softmax: 0.13, 0.87, 0.00
# -----------------------------
# p_k = e^{s_k} / sum_j e^{s_j} on the cat image's scores: exp gives 24.5, 164.0 and 0.18,
# normalising gives 0.13, 0.87 and 0.00.
from chainrule import nn

s = scores[0]
p = nn.Softmax().forward(s)
print("scores         ", s)
print("exp            ", np.round(np.exp(s), 2))
print("probabilities  ", np.round(p, 2))

# %%
# The softmax classifier: 2.04, not 0.89
# --------------------------------------
# Softmax + log-likelihood, L_i = -log(e^{s_y} / sum_j e^{s_j}), for the cat (label 0). The
# notes print -log(0.13) = 0.89, which is the base-10 logarithm; the natural logarithm, which
# the notes' own gradients assume (d/dp of -log p is -1/p only for the natural log), gives 2.04.
softmax_ll = losses.SoftmaxLogLikelihood()
L = softmax_ll.forward(s[None, :], [0])
print(f"L = -ln p_cat = {L:.4f}  (2.04; the notes' 0.89 is -log10(0.13) = {-math.log10(p[0]):.2f})")

# %%
# Softmax + cross-entropy adds -log(1 - p_k) for the other classes. The notes' figure gives
# -log(0.13) - log(1 - 0.87) - log(1 - 0.0) = 0.89 * 2, again in base 10.
softmax_ce = losses.SoftmaxCrossEntropy()
L = softmax_ce.forward(s[None, :], [0])
base10 = -math.log10(p[0]) - math.log10(1 - p[1]) - math.log10(1 - p[2])
print(f"L = {L:.4f} with the natural log (base 10: {base10:.2f} = 0.89 * 2)")

# %%
# Log-likelihood and cross-entropy on probabilities
# -------------------------------------------------
# The notes' ten-class example: the image belongs to class 2 (index 1 here) and
# p = (0.1, 0.7, 0, ..., 0, 0.2). The log-likelihood keeps only the true class,
# L = -log 0.7; the cross-entropy also charges the probability given to the others,
# L = -log(1 - 0.1) - log 0.7 - log(1 - 0.2).
p10 = np.array([[0.1, 0.7, 0, 0, 0, 0, 0, 0, 0, 0.2]])
ll = losses.LogLikelihood().forward(p10, [1])
ce = losses.CrossEntropy().forward(p10, [1])
print(f"log-likelihood L = -ln 0.7 = {ll:.4f}")
print(f"cross-entropy  L = -ln 0.9 - ln 0.7 - ln 0.8 = {ce:.4f}")

# %%
# Regression losses
# -----------------
# L1: L_i = sum_k abs(y_k - s_k) = abs(0 - 0.1) + abs(1 - 0.7) + abs(0 - 0.2) = 0.6 on the same
# vectors; L2: L_i = sum_k (y_k - s_k)^2 = 0.01 + 0.09 + 0.04 = 0.14.
target = np.array([[0, 1, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=float)
print(f"L1 = {losses.L1Loss().forward(p10, target):.2f}, L2 = {losses.L2Loss().forward(p10, target):.2f}")

# %%
# The losses as a function of the score
# -------------------------------------
# For one sample of the positive class and a single score s: the binary hinge is zero beyond
# the margin s = 1, the sigmoid cross-entropy never quite reaches zero, and both grow linearly
# for badly wrong scores; the L2 loss against the target 1 also punishes scores that are "too
# right".
from chainrule.plotting import new_figure

grid = np.linspace(-3, 3, 301)
curves = {
    "binary hinge max(0, 1 - s)": losses.BinaryHinge(reduction="none").forward(grid, np.ones_like(grid)),
    "sigmoid cross-entropy -ln sigma(s)": losses.SigmoidCrossEntropy(reduction="none").forward(grid, np.ones(301)),
    "L2 (1 - s)^2": losses.L2Loss(reduction="none").forward(grid, np.ones_like(grid)),
}
fig = new_figure(10, 4)
ax_curves, ax_softmax = fig.subplots(1, 2)
for name, values in curves.items():
    ax_curves.plot(grid, values, label=name)
ax_curves.set(xlabel="score s of a positive sample", ylabel="L_i", ylim=(0, 5), title="losses of one score")
ax_curves.legend(fontsize=8)
ax_curves.grid(alpha=0.3)
x = np.arange(3)
ax_softmax.bar(x - 0.25, s, 0.25, label="scores s")
ax_softmax.bar(x, np.exp(s) / 40, 0.25, label="exp(s) / 40")
ax_softmax.bar(x + 0.25, p, 0.25, label="p = softmax(s)")
ax_softmax.set_xticks(x, ["cat", "car", "frog"])
ax_softmax.set(title="the cat image: scores, exp, normalise")
ax_softmax.legend(fontsize=8)
ax_softmax.grid(alpha=0.3, axis="y")
fig

# %%
# Run as a plain script (``python examples/losses/plot_loss_worked_examples.py``), the example
# opens its figure in a window, or writes it to ``runs/examples/`` where there is no display
# (``plotting.show``).
from chainrule.plotting import show

show(fig)
