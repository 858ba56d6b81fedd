"""
The sigmoid neuron and the softmax Jacobian
===========================================

A single neuron computes z = w^T x + b and y = sigma(z) = 1 / (1 + e^-z). The notes derive
d sigma / dz = (1 - sigma(z)) sigma(z), and for the softmax p = e^s / sum_j e^{s_j} the
Jacobian D_ab = dp_a / ds_b = p_a (delta_ab - p_b). Both are checked here against numerical
derivatives.
"""

# %%
# A single neuron
# ---------------
# ``Linear(d, 1)`` followed by ``Sigmoid``: z = w^T x + b, y = sigma(z).
import numpy as np

from chainrule import grad, nn

np.set_printoptions(suppress=True)
neuron = nn.Sequential(nn.Linear(3, 1, rng=0, dtype=np.float64), nn.Sigmoid())
x = np.array([[0.5, -1.0, 2.0]])
w, b = neuron[0].weight.value[0], neuron[0].bias.value[0]
z = x[0] @ w + b
print(f"z = w^T x + b = {z:.4f}, y = 1 / (1 + e^-z) = {1 / (1 + np.exp(-z)):.4f}, "
      f"the module gives {neuron.forward(x)[0, 0]:.4f}")

# %%
# sigma' = (1 - sigma) sigma
# --------------------------
# ``Sigmoid.backward(g)`` multiplies the upstream gradient g by y (1 - y). With g = 1 it returns
# the derivative itself; it matches the central difference.
sig = nn.Sigmoid()
zs = np.array([-4.0, -1.0, 0.0, 1.0, 4.0])
y = sig.forward(zs)
analytic = sig.backward(np.ones_like(zs))
numeric = np.array([grad.derivative(lambda t: 1 / (1 + np.exp(-t)), v) for v in zs])
print("z                  ", zs)
print("sigma(z)           ", np.round(y, 4))
print("(1 - sigma) sigma  ", np.round(analytic, 6))
print("numerically        ", np.round(numeric, 6))

# %%
# For a layer of sigmoid neurons p = sigma(s) the Jacobian dp/ds is diagonal,
# diag((1 - sigma(s_j)) sigma(s_j)): each output depends on its own score only.
s = np.array([0.5, -1.0, 2.0])
J_sigmoid = grad.jacobian(lambda v: 1 / (1 + np.exp(-v)), s)
print(np.round(J_sigmoid, 4))

# %%
# The softmax Jacobian
# --------------------
# For the notes' cat scores s = (3.2, 5.1, -1.7): D = diag(p) - p p^T, that is
# p_a (1 - p_a) on the diagonal and -p_a p_b off it. Every column sums to zero: the
# probabilities always sum to one, so no change of the scores can change their total.
softmax = nn.Softmax()
s = np.array([3.2, 5.1, -1.7])
p = softmax.forward(s)
D = np.diag(p) - np.outer(p, p)
D_numeric = grad.jacobian(lambda v: nn.Softmax().forward(v), s)
print("p =", np.round(p, 4))
print(np.round(D, 4))
print(f"relative error against central differences: {grad.relative_error(D, D_numeric):.1e}")
print("column sums:", np.round(D.sum(axis=0), 12) + 0.0)

# %%
# ``Softmax.backward(g)`` never builds D: it returns the vector-Jacobian product
# g D = p * (g - sum_a g_a p_a), one row per sample, which is all backpropagation needs.
g = np.array([1.0, -2.0, 0.5])
print("g D             ", np.round(g @ D, 6))
print("Softmax.backward", np.round(softmax.backward(g), 6))

# %%
# The pictures
# ------------
from chainrule.plotting import new_figure

fig = new_figure(11, 4.2)
ax_sig, ax_jac = fig.subplots(1, 2)
grid = np.linspace(-6, 6, 241)
ys = nn.Sigmoid().forward(grid)
ax_sig.plot(grid, ys, label="sigma(z)")
ax_sig.plot(grid, ys * (1 - ys), label="(1 - sigma(z)) sigma(z)")
ax_sig.set(xlabel="z", title="the sigmoid and its derivative")
ax_sig.legend()
ax_sig.grid(alpha=0.3)
s2 = np.array([1.0, 2.0, 0.5, -1.0, 1.5])
p2 = nn.Softmax().forward(s2)
D2 = np.diag(p2) - np.outer(p2, p2)
limit = np.abs(D2).max()
im = ax_jac.imshow(D2, cmap="RdBu_r", vmin=-limit, vmax=limit)
for a in range(5):
    for b_ in range(5):
        ax_jac.text(b_, a, f"{D2[a, b_]:.2f}", ha="center", va="center", fontsize=8)
ax_jac.set(title="softmax Jacobian D_ab = p_a (delta_ab - p_b)", xlabel="b (score s_b)", ylabel="a (probability p_a)")
fig.colorbar(im, ax=ax_jac, shrink=0.8)
fig

# %%
# Run as a plain script (``python examples/backprop/plot_sigmoid_softmax.py``), the example
# opens its figure in a window, or writes it to ``runs/examples/`` where there is no display
# (``plotting.show``).
from chainrule.plotting import show

show(fig)
