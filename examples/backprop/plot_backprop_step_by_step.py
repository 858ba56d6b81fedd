"""
Backpropagation step by step
============================

The notes' single-layer example: a score s = W x + b, probabilities p = softmax(s), and a loss
L = -log p_y. Backpropagation applies the chain rule from the loss back to the weights:

    dL/dp,   dL/ds = (dp/ds) dL/dp,   dL/dW = dL/ds x^T,   dL/db = dL/ds.

This example computes each factor by hand with NumPy, then lets chainrule's modules do it, then
checks both against central differences, and finally runs the notes' training loop on a deeper
network.
"""

# %%
# The layer and one sample
# ------------------------
# Four inputs, three classes; the sample belongs to class 0. float64 throughout, as the
# gradient check requires.
import numpy as np

from chainrule import grad, losses, nn

np.set_printoptions(precision=4, suppress=True)
x = np.array([0.5, 0.2, -0.3, 0.1])
y = 0
W = np.array([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]])
b = np.array([1.1, 3.2, -1.2])

# %%
# Forward, by hand
# ----------------
s = W @ x + b
p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
L = -np.log(p[y])
print("s =", s, " p =", p, f" L = {L:.4f}")

# %%
# Backward, by hand
# -----------------
# 1. The log-likelihood: dL/dp = -(1/p_y) at the label, 0 elsewhere.
# 2. The softmax: dL/ds = D^T dL/dp with D_ab = p_a (delta_ab - p_b); this collapses to
#    p - onehot(y).
# 3. The linear layer: ds_j / dw_j = x, so dL/dW = dL/ds x^T (an outer product: row j is
#    dL/ds_j times x), and dL/db = dL/ds. The gradient for the input is W^T dL/ds.
dL_dp = np.zeros(3)
dL_dp[y] = -1 / p[y]
D = np.diag(p) - np.outer(p, p)
dL_ds = D.T @ dL_dp
dL_dW = np.outer(dL_ds, x)
dL_db = dL_ds
dL_dx = W.T @ dL_ds
print("dL/dp =", dL_dp)
print("dL/ds =", dL_ds, "  p - onehot(y) =", p - np.eye(3)[y])
print("dL/dW =\n", dL_dW)
print("dL/db =", dL_db)

# %%
# The same with chainrule's modules
# ---------------------------------
# ``Linear`` stores W with the notes' shape (out, in). ``loss.backward()`` returns dL/dp;
# ``net.backward`` carries it through the softmax and the linear layer, fills each
# parameter's ``.grad`` and returns dL/dx.
net = nn.Sequential(nn.Linear(4, 3, dtype=np.float64), nn.Softmax())
net[0].weight.value[...] = W
net[0].bias.value[...] = b
loss = losses.LogLikelihood()

out = net.forward(x[None, :])             # a batch of one sample
print(f"L = {loss.forward(out, [y]):.4f}")
net.zero_grad()
dx = net.backward(loss.backward(), need_input_grad=True)   # also dL/dx (a network computes it only when asked)
print("dL/dp from the loss   ", loss.backward()[0])
print("dL/dW matches by hand:", np.allclose(net[0].weight.grad, dL_dW))
print("dL/db matches by hand:", np.allclose(net[0].bias.grad, dL_db))
print("dL/dx matches by hand:", np.allclose(dx[0], dL_dx))

# %%
# Checked numerically
# -------------------
# ``grad.check_gradients`` perturbs every input and every weight by +-1e-6 and compares the
# central differences with the analytic gradients: the relative errors are at rounding level.
print(grad.check_gradients(net, x[None, :]))
print(grad.check_gradients(loss, out, [y]))

# %%
# In practice the softmax and the log-likelihood are fused into one loss on the scores,
# ``SoftmaxLogLikelihood``, whose backward returns dL/ds = p - onehot(y) directly: fewer steps
# and exact even for huge scores.
fused = losses.SoftmaxLogLikelihood()
print(f"L = {fused.forward(s[None, :], [y]):.4f}, dL/ds = {fused.backward()[0]}")

# %%
# The notes' loop on a deeper network
# -----------------------------------
# Backpropagation through any stack of layers is the same recursion, one layer at a time in
# reverse. A two-hidden-layer network on the digits, trained with the notes' loop
# (forward, loss, backward, step), with every gradient checked first on a few samples.
from chainrule import optim
from chainrule.datasets import load_digits

digits = load_digits()
X = (digits.X_train.reshape(-1, 64) / digits.pixel_max).astype(np.float32)
labels = digits.y_train.astype(np.intp)

check_net = nn.Sequential(nn.Linear(64, 32, rng=0, dtype=np.float64), nn.Tanh(),
                          nn.Linear(32, 16, rng=1, dtype=np.float64), nn.Sigmoid(),
                          nn.Linear(16, 10, rng=2, dtype=np.float64))
report = grad.check_gradients(check_net, X[:5].astype(np.float64))
print(report)

deep = nn.Sequential(nn.Linear(64, 32, rng=0), nn.Tanh(), nn.Linear(32, 16, rng=1), nn.Sigmoid(),
                     nn.Linear(16, 10, rng=2))
loss = losses.SoftmaxLogLikelihood()
opt = optim.SGD(deep.parameters(), lr=0.5, momentum=0.9)
rng = np.random.default_rng(0)
curve = []
for epoch in range(20):
    for idx in np.array_split(rng.permutation(len(X)), len(X) // 64):
        out = deep.forward(X[idx])
        L = loss.forward(out, labels[idx])
        deep.zero_grad()
        deep.backward(loss.backward())
        opt.step()
        curve.append(float(L))
deep.eval()
X_test = (digits.X_test.reshape(-1, 64) / digits.pixel_max).astype(np.float32)
accuracy = np.mean(deep.forward(X_test).argmax(axis=1) == digits.y_test)
print(f"test accuracy after 20 epochs: {accuracy:.3f}")

# %%
# The relative error of every checked gradient, and the loss of each minibatch while training:
from chainrule.plotting import new_figure

fig = new_figure(11, 4.2)
ax_check, ax_loss = fig.subplots(1, 2)
names = list(report.errors)
ax_check.barh(names, [max(v, 1e-16) for v in report.errors.values()], color="#2ca02c")
ax_check.axvline(report.tol, color="#d62728", linestyle="--", label=f"tolerance {report.tol:g}")
ax_check.set(xscale="log", xlabel="relative error, analytic against numerical",
             title="every gradient of the network, checked")
ax_check.invert_yaxis()
ax_check.legend(fontsize=8)
ax_loss.plot(curve, linewidth=0.8)
ax_loss.set(xlabel="minibatch", ylabel="L", yscale="log", title="the notes' loop: loss per minibatch")
ax_loss.grid(alpha=0.3)
fig

# %%
# Run as a plain script (``python examples/backprop/plot_backprop_step_by_step.py``), the
# example opens its figure in a window, or writes it to ``runs/examples/`` where there is no
# display (``plotting.show``).
from chainrule.plotting import show

show(fig)
