"""
Full-batch gradient descent against minibatches of 32, 64, 128 and 256
======================================================================

Gradient descent uses the gradient of the loss over the whole training set,
dL/dW = 1/N sum_i dL_i/dW, for every step. "Full sum is too expensive when N is large":
minibatch SGD estimates it from a few samples, 32, 64, 128 or 256 being common, and takes
many more (noisier) steps for the same work. This example runs the notes' loop with each
choice on the digits and compares the loss after the same number of passes over the data.
"""

# %%
# The notes' loop, with a batch size
# ----------------------------------
# ``batch_size=None`` is the full batch. Every epoch reshuffles the samples and visits each
# once; the last, smaller batch is kept.
import time

import numpy as np

from chainrule import losses, nn, optim
from chainrule.datasets import load_digits

digits = load_digits()
X = (digits.X_train.reshape(-1, 64) / digits.pixel_max).astype(np.float32)
y = digits.y_train.astype(np.intp)


def train(batch_size, epochs=30, lr=0.1, seed=0):
    """A softmax classifier s = W x + b trained by the notes' loop; returns the loss on the whole
    training set after every epoch and after every step, and the seconds spent in the loop."""
    rng = np.random.default_rng(seed)
    net = nn.Sequential(nn.Linear(64, 10, rng=seed))
    loss = losses.SoftmaxLogLikelihood()
    opt = optim.SGD(net.parameters(), lr=lr)
    n = len(X)
    size = n if batch_size is None else batch_size
    full_loss = losses.SoftmaxLogLikelihood()          # the loss on the whole training set
    curve = [float(full_loss.forward(net.forward(X), y))]
    per_step = list(curve)
    seconds = 0.0
    for epoch in range(epochs):
        order = rng.permutation(n)
        for first in range(0, n, size):
            start = time.perf_counter()
            idx = order[first:first + size]
            out = net.forward(X[idx])
            L = loss.forward(out, y[idx])
            net.zero_grad()
            net.backward(loss.backward())
            opt.step()
            seconds += time.perf_counter() - start
            per_step.append(float(full_loss.forward(net.forward(X), y)))
        curve.append(per_step[-1])
    return curve, per_step, seconds


runs = {bs: train(bs) for bs in (None, 256, 128, 64, 32)}
print("batch size   steps   loss after 30 epochs   seconds")
for bs, (curve, per_step, seconds) in runs.items():
    print(f"{'full' if bs is None else bs:>10} {len(per_step) - 1:>7}   {curve[-1]:20.4f}   {seconds:7.3f}")

# %%
# With the same learning rate, smaller batches take more steps per epoch and reach a lower loss
# after the same number of epochs; each step is cheaper but noisier. Full-batch gradient
# descent can afford a larger step, since its gradient is exact: it still needs many epochs.
curve_big, steps_big, _ = train(None, lr=1.0)
print(f"full batch with lr = 1.0: loss {curve_big[-1]:.4f} after {len(steps_big) - 1} steps")

# %%
# The curves
# ----------
from chainrule.plotting import new_figure

fig = new_figure(11, 4.2)
ax_epochs, ax_steps = fig.subplots(1, 2)
for bs, (curve, per_step, _) in runs.items():
    label = "full batch" if bs is None else f"minibatch {bs}"
    ax_epochs.plot(range(len(curve)), curve, label=label)
    ax_steps.plot(range(1, len(per_step)), per_step[1:], label=label, linewidth=1)
ax_epochs.plot(range(len(curve_big)), curve_big, "k--", label="full batch, lr 1.0")
ax_epochs.set(xlabel="epoch (passes over the data)", ylabel="training loss", yscale="log",
              title="the same work")
ax_steps.set(xlabel="steps (updates of W)", ylabel="training loss", xscale="log", yscale="log",
             title="the same number of steps")
for ax in (ax_epochs, ax_steps):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig

# %%
# Per step (right), the curves lie on top of each other: at this learning rate a minibatch of 32
# estimates the gradient well enough that a step with it does as much as a step with all 1,437
# samples. Per pass over the data (left), which is what costs time, the minibatches take many
# more steps and get much further. Full-batch gradient descent can afford a larger step, since
# its gradient is exact (dashed, lr 1.0), but a step cannot grow without limit before the
# descent diverges. The price of small batches is noise at large learning rates and less work
# per call for the processor (the seconds column): 32 to 256 is the usual compromise.

# %%
# Run as a plain script (``python examples/losses/plot_gd_vs_minibatch.py``), the example opens
# its figure in a window, or writes it to ``runs/examples/`` where there is no display
# (``plotting.show``).
from chainrule.plotting import show

show(fig)
