"""
Derivatives checked numerically: gradient, Jacobian, Hessian, chain rule
========================================================================

The notes define the derivative as a limit, f'(x) = lim (f(x + dx) - f(x)) / dx, and work out a
gradient, a Jacobian, a Hessian and a chain rule by hand. ``chainrule.grad`` computes each of
them numerically with central differences, (f(x + h) - f(x - h)) / 2h, which is how every
hand-derived gradient in chainrule is checked.
"""

# %%
# The gradient of the notes' function
# -----------------------------------
# f(x1, x2) = (4 - 2.1 x1^2 + x1^4 / 3) x1^2 + x1 x2 + (-4 + 4 x2^2) x2^2 (the "six-hump camel"),
# with the gradient derived in the notes:
# (2 x1^5 - 8.4 x1^3 + 8 x1 + x2, 16 x2^3 - 8 x2 + x1).
import numpy as np

from chainrule import grad


def f(x):
    x1, x2 = x
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


def gradient_by_hand(x):
    x1, x2 = x
    return np.array([2 * x1**5 - 8.4 * x1**3 + 8 * x1 + x2, 16 * x2**3 - 8 * x2 + x1])


point = np.array([0.5, -0.7])
numeric = grad.numerical_gradient(f, point)
print("by hand      ", gradient_by_hand(point))
print("numerically  ", numeric)
print(f"relative error {grad.relative_error(gradient_by_hand(point), numeric):.1e}")

# %%
# The Jacobian at (2, 1)
# ----------------------
# f(x) = (2 x1 + x2^2, -x1^2 + 3 x2, 4 x1 x2) maps R^2 to R^3; its Jacobian is the 3 x 2 matrix
# of first partial derivatives, J = [[2, 2 x2], [-2 x1, 3], [4 x2, 4 x1]]: at (2, 1) the notes
# find [[2, 2], [-4, 3], [4, 8]].
J = grad.jacobian(lambda x: np.array([2 * x[0] + x[1] ** 2, -x[0] ** 2 + 3 * x[1], 4 * x[0] * x[1]]),
                  np.array([2.0, 1.0]))
print(np.round(J, 6))

# %%
# The Hessian at (0, 1)
# ---------------------
# The matrix of second derivatives of the six-hump function,
# H = [[10 x1^4 - 25.2 x1^2 + 8, 1], [1, 48 x2^2 - 8]]: at (0, 1) the notes find
# [[8, 1], [1, 40]]. Numerically, from f alone (second central differences) and as the
# Jacobian of the hand-derived gradient:
print(np.round(grad.hessian(f, np.array([0.0, 1.0])), 4))
print(np.round(grad.hessian(f, np.array([0.0, 1.0]), grad=gradient_by_hand), 6))

# %%
# The chain rule
# --------------
# f(x) = 3 (2 x^2 - 1)^2 - 2 (2 x^2 - 1) + 5 is g(h(x)) with h(x) = 2 x^2 - 1 and
# g(h) = 3 h^2 - 2 h + 5, so f'(x) = g'(h(x)) h'(x) = (6 (2 x^2 - 1) - 2)(4 x) = 48 x^3 - 32 x.
for x in (-1.0, 0.5, 2.0):
    numeric = grad.derivative(lambda t: 3 * (2 * t**2 - 1) ** 2 - 2 * (2 * t**2 - 1) + 5, x)
    print(f"x = {x:4}: 48 x^3 - 32 x = {48 * x**3 - 32 * x:8.3f}, numerically {numeric:8.3f}")

# %%
# Why central differences
# -----------------------
# The notes' one-sided difference (f(x + h) - f(x)) / h has an error proportional to h; the
# central difference's error is proportional to h^2. Too small a step loses to rounding
# instead: float64 carries 16 digits, so the best step is near 1e-5 to 1e-6 (chainrule uses
# 1e-6 and refuses float32 for checks).
from chainrule.plotting import new_figure

exact = gradient_by_hand(point)[0]
steps = np.logspace(-12, -1, 45)
e1 = np.array([1.0, 0.0])
forward = [max(1e-17, abs((f(point + h * e1) - f(point)) / h - exact)) for h in steps]
central = [max(1e-17, abs((f(point + h * e1) - f(point - h * e1)) / (2 * h) - exact)) for h in steps]

fig = new_figure(11, 4.5)
ax_err, ax_field = fig.subplots(1, 2)
ax_err.loglog(steps, forward, label="one-sided (f(x + h) - f(x)) / h")
ax_err.loglog(steps, central, label="central (f(x + h) - f(x - h)) / 2h")
ax_err.axvline(grad.EPS, color="gray", linestyle=":", label="chainrule's step 1e-6")
ax_err.set(xlabel="step h", ylabel="error in df/dx1", title="truncation (right) against rounding (left)")
ax_err.legend(fontsize=8)
ax_err.grid(alpha=0.3)
g1, g2 = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1.1, 1.1, 120))
ax_field.contour(g1, g2, f((g1, g2)), levels=np.linspace(-1, 5, 25), cmap="viridis")
a1, a2 = np.meshgrid(np.linspace(-1.8, 1.8, 13), np.linspace(-1, 1, 9))
d = gradient_by_hand((a1, a2))
ax_field.quiver(a1, a2, -d[0], -d[1], color="#d62728", angles="xy")
ax_field.set(xlabel="x1", ylabel="x2", title="the six-hump function and -grad f (descent directions)")
fig

# %%
# Run as a plain script (``python examples/backprop/plot_derivatives.py``), the example opens
# its figure in a window, or writes it to ``runs/examples/`` where there is no display
# (``plotting.show``).
from chainrule.plotting import show

show(fig)
