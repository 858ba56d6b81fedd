"""
Dropout and batch normalisation
===============================

Two regularisers the notes list "for later", both layers of the network:

* **Dropout** zeroes each activation with probability p while training and scales the
  survivors by 1 / (1 - p) ("inverted" dropout), so that nothing changes at test time, when the
  layer is the identity. dy/dx is the same mask.
* **Batch normalisation** standardises each feature over the batch,
  x_hat = (x - mu) / sqrt(var + eps), then scales and shifts it, y = gamma x_hat + beta, with
  gamma and beta learned. At test time it uses running averages of mu and var instead.
"""

# %%
# Dropout: train mode and eval mode
# ---------------------------------
import numpy as np

from chainrule import grad, nn

drop = nn.Dropout(p=0.5, rng=0)
x = np.ones((1000, 100))
y = drop.forward(x)
print("training mode, the first 4 x 8 outputs:\n", y[:4, :8])
print(f"kept {np.mean(y > 0):.1%} of the units; the mean stays near 1: {y.mean():.3f}")
drop.eval()
print("eval mode is the identity:", np.array_equal(drop.forward(x), x))

# %%
# Backward multiplies by the same mask: a dropped unit passes no gradient.
drop.train()
y = drop.forward(x)
print("dy/dx, first 8 of the first row:", drop.backward(np.ones_like(x))[0, :8])

# %%
# Batch norm: batch statistics, then running statistics
# -----------------------------------------------------
# In training mode the output of every feature has mean 0 and variance 1 over the batch
# (gamma = 1 and beta = 0 at the start); the running mean and variance move towards the
# batch's by ``momentum`` (0.1) per batch.
rng = np.random.default_rng(0)
batch = rng.normal(loc=[5.0, -2.0, 0.0], scale=[3.0, 0.5, 1.0], size=(64, 3))
bn = nn.BatchNorm1d(3, dtype=np.float64)
out = bn.forward(batch)
print("batch mean", batch.mean(axis=0), "-> output mean", np.round(out.mean(axis=0), 12) + 0.0)
print("batch std ", batch.std(axis=0), "-> output std ", np.round(out.std(axis=0), 4))
print("running mean after one batch:", bn.running_mean)

# %%
# Its backward pass accounts for mu and var depending on every sample of the batch; the
# gradient check confirms it, and dropout's too (with its mask held fixed).
print(grad.check_gradients(nn.BatchNorm1d(3, dtype=np.float64), batch[:8]))
print(grad.check_gradients(nn.Sequential(nn.Linear(3, 5, rng=0, dtype=np.float64), nn.Dropout(0.3, rng=1)),
                           batch[:8]))

# %%
# Their effect on training
# ------------------------
# A network (256, 128) on the digits, trained for 40 epochs on 80% of the training images, is
# big enough to learn them by heart. On the other 20%, held out for validation, we watch the gap
# between training and validation loss with neither regulariser, with dropout (p = 0.3), with
# batch norm, and with both. One BLAS thread (``n_threads=1``): for a network this small a second
# thread only waits, and on a busy two-core machine it made the four fits three times slower.
from chainrule.datasets import load_digits, train_validation_split
from chainrule.models import MLPClassifier

digits = load_digits()
X = digits.X_train.reshape(-1, 64) / digits.pixel_max
X_tr, X_val, y_tr, y_val = train_validation_split(X, digits.y_train, validation_fraction=0.2, random_state=0)
X_test = digits.X_test.reshape(-1, 64) / digits.pixel_max
print(f"{len(X_tr)} training, {len(X_val)} validation and {len(X_test)} test images")
configs = {"neither": {}, "dropout 0.3": dict(dropout=0.3), "batch norm": dict(batch_norm=True),
           "both": dict(dropout=0.3, batch_norm=True)}
fitted = {}
for name, kw in configs.items():
    clf = MLPClassifier((256, 128), max_iter=40, alpha=0.0, random_state=0, n_threads=1, **kw)
    clf.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    fitted[name] = clf
    h = clf.history_
    print(f"{name:<12} final training loss {h['data_loss'][-1]:.4f}, validation loss {h['val_loss'][-1]:.4f}, "
          f"test accuracy {clf.score(X_test, digits.y_test):.3f}")

# %%
from chainrule.plotting import new_figure

fig = new_figure(12, 3.6)
axes = fig.subplots(1, len(fitted), sharey=True)
for ax, (name, clf) in zip(axes, fitted.items()):
    h = clf.history_
    ax.plot(h["data_loss"], label="training")
    ax.plot(h["val_loss"], label="validation")
    ax.set(title=name, xlabel="epoch", yscale="log")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("loss")
axes[0].legend()
fig

# %%
# Without regularisation the training loss falls towards zero while the validation loss stops
# improving: the network memorises its training set. Dropout keeps the training loss up, since
# every step trains a different thinned network, and the network cannot rely on any single
# unit. Batch normalisation makes each layer's input well scaled whatever the layers before it
# do, which speeds up training and regularises a little through the noise of the batch
# statistics. On a data set this small the differences are modest (compare the printed test
# accuracies); they grow with the network and the data.

# %%
# Run as a plain script (``python examples/backprop/plot_dropout_batchnorm.py``), the example
# opens its figure in a window, or writes it to ``runs/examples/`` where there is no display
# (``plotting.show``).
from chainrule.plotting import show

show(fig)
