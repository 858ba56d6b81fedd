"""
Linear regression by gradient descent: w = 0.5, b = 2.0
=======================================================

The notes open with four training points, X = {2, 4, 6, 8} and Y = {3, 4, 5, 6}, and a model
y = w x + b. "Starting at a random value", training finds the optimal parameters
w = 0.5 and b = 2.0.

Here is that training written as the notes' loop: forward, loss, backward, step.
"""

# %%
# The data and the model
# ----------------------
# ``regression_toy`` returns the notes' points. The model is one ``Linear(1, 1)`` layer,
# s = W x + b with W of shape (1, 1), started from a random value (seed 0). The loss is the
# notes' L2 regression loss L = 1/N sum_i (y_i - s_i)^2.
import numpy as np

from chainrule import losses, nn, optim
from chainrule.datasets import regression_toy
from chainrule.plotting import new_figure

X, y = regression_toy()
print("X =", X.ravel(), " Y =", y)

net = nn.Sequential(nn.Linear(1, 1, rng=0, dtype=np.float64))
loss = losses.L2Loss()
print(f"random start: w = {net[0].weight.value[0, 0]:.4f}, b = {net[0].bias.value[0]:.4f}")

# %%
# The notes' loop
# ---------------
# ``W <- W - alpha dL/dW``: gradient descent on the whole set (full batch). Gradient descent
# converges when the step alpha is below 2 / (the largest curvature of L); for these inputs the
# curvature is about 62, so any step below 0.032 works. We take 0.02.
opt = optim.SGD(net.parameters(), lr=0.02)
targets = y[:, None]                       # one output per sample: shape (N, 1)
history = []
for step in range(3000):
    out = net.forward(X)
    L = loss.forward(out, targets)
    net.zero_grad()
    net.backward(loss.backward())
    opt.step()
    history.append(float(L))

w, b = net[0].weight.value[0, 0], net[0].bias.value[0]
print(f"after 3000 steps: w = {w:.4f}, b = {b:.4f}, loss = {history[-1]:.2e}")

# %%
# The same with the scikit-learn style estimator
# ----------------------------------------------
# ``LinearRegression`` runs the same gradient descent (its default
# ``learning_rate_init='auto'`` takes the step 1/L from the curvature L of the loss, so it cannot
# diverge).
from chainrule.models import LinearRegression

reg = LinearRegression(random_state=0).fit(X, y)
print(f"LinearRegression: w = {reg.coef_[0]:.4f}, b = {reg.intercept_:.4f}")

# %%
# The fit and the loss along the way
# ----------------------------------
fig = new_figure(10, 4)
ax_fit, ax_loss = fig.subplots(1, 2)
grid = np.linspace(0, 10, 50)[:, None]
ax_fit.scatter(X.ravel(), y, s=60, color="#1f77b4", zorder=3, label="training points")
ax_fit.plot(grid.ravel(), net.forward(grid).ravel(), color="#d62728",
            label=f"y = {w:.2f} x + {b:.2f}")
ax_fit.set(xlabel="x", ylabel="y", title="the notes' regression toy")
ax_fit.legend()
ax_loss.semilogy(history)
ax_loss.set(xlabel="gradient-descent step", ylabel="L (log scale)", title="loss while training")
for ax in (ax_fit, ax_loss):
    ax.grid(alpha=0.3)
fig

# %%
# Run as a plain script (``python examples/introduction/plot_regression_toy.py``), the example
# opens its figure in a window, or writes it to ``runs/examples/`` where there is no display
# (``plotting.show``).
from chainrule.plotting import show

show(fig)
