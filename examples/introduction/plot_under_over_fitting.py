"""
Under- and over-fitting: polynomial orders 1 to 12
==================================================

The notes fit polynomial models of increasing order to a few noisy points. Orders 1 and 2
under-fit: they are wrong on the training set and on new data alike. Order 12 passes through
every training point and is badly wrong in between: it has fitted the noise. Orders 3 and 4
generalise best. Here are all twelve orders.
"""

# %%
# Thirteen noisy points of a cubic
# --------------------------------
# ``make_polynomial_curve`` samples a cubic with Gaussian noise (standard deviation 0.25):
# 13 training points, and 200 fresh points from the same curve as the test set.
import numpy as np

from chainrule.datasets import make_polynomial_curve
from chainrule.models import PolynomialRegression

x_train, y_train, truth = make_polynomial_curve(13, rng=0)
x_test, y_test, _ = make_polynomial_curve(200, rng=1)

# %%
# One model per order
# -------------------
# ``PolynomialRegression(degree=k)`` is a linear model on the monomials 1, x, ..., x^k, solved
# exactly by least squares (the minimum of the mean squared error).
orders = range(1, 13)
models = {k: PolynomialRegression(degree=k).fit(x_train, y_train) for k in orders}
train_mse = [np.mean((models[k].predict(x_train) - y_train) ** 2) for k in orders]
test_mse = [np.mean((models[k].predict(x_test) - y_test) ** 2) for k in orders]
print("order  train MSE   test MSE")
for k, tr, te in zip(orders, train_mse, test_mse):
    print(f"{k:>5}  {tr:9.4f}  {te:9.4f}")
best = orders[int(np.argmin(test_mse))]
print(f"lowest test error at order {best}; the noise alone costs 0.0625 (0.25 squared)")

# %%
# The fits of the notes' orders
# -----------------------------
from chainrule.plotting import plot_polynomial_fits

fig = plot_polynomial_fits(x_train, y_train, x_test, y_test,
                           {k: models[k].predict for k in (1, 2, 3, 4, 12)}, truth=truth)
fig

# %%
# Training and test error against the order
# -----------------------------------------
# The training error only falls as the model grows; the test error falls, then rises. The
# model with the right capacity sits at the bottom of the test curve.
from chainrule.plotting import new_figure

fig2 = new_figure(6, 4)
ax = fig2.subplots()
ax.semilogy(list(orders), train_mse, "o-", label="training set")
ax.semilogy(list(orders), test_mse, "s-", label="test set")
ax.axhline(0.0625, color="gray", linestyle=":", label="noise variance")
ax.set(xlabel="polynomial order", ylabel="mean squared error (log scale)", xticks=list(orders),
       title="under-fitting (left) and over-fitting (right)")
ax.grid(alpha=0.3)
ax.legend()
fig2

# %%
# Run as a plain script (``python examples/introduction/plot_under_over_fitting.py``), the
# example opens its figures in windows, or writes them to ``runs/examples/`` where there is no
# display (``plotting.show``).
from chainrule.plotting import show

show(fig, fig2)
