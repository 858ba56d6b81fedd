"""
Regularisation: L2, L1, elastic net and max-norm
================================================

A W with zero data loss is not unique: 2W also has L = 0. The notes add a penalty that prefers
"simple" weights, L = 1/N sum_i L_i + lambda R(W), with

* L2: R(W) = sum_{k,l} W_kl^2, small weights everywhere;
* L1: R(W) = sum_{k,l} abs(W_kl), many weights at or near zero;
* elastic net: R(W) = sum_{k,l} beta W_kl^2 + abs(W_kl), a mix of both;
* max-norm: no penalty, but every row is kept inside a ball, ||w_j|| <= c.

This example trains the same linear classifier on the digits with each of them and looks at
the weights.
"""

# %%
# 2W has the same hinge loss
# --------------------------
# The notes' car image has loss 0; so it has with W twice as large (all scores doubled). The
# L2 penalty tells the two apart.
import numpy as np

from chainrule import losses, regularizers

car = np.array([[1.3, 4.9, 2.0]])
hinge = losses.MulticlassHinge()
print(f"hinge loss of the car image: {hinge.forward(car, [1]):.1f} with W, "
      f"{hinge.forward(2 * car, [1]):.1f} with 2W")
W = np.array([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]])
l2 = regularizers.L2(strength=1.0)
print(f"R(W) = {l2.penalty(W):.4f}, R(2W) = {l2.penalty(2 * W):.4f} (four times as large)")

# %%
# The penalties and their gradients
# ---------------------------------
# Each penalty gives its value lambda R(W) and its gradient, which the training loop adds to
# dL/dW: 2 lambda W for L2 (the notes have no 1/2), lambda sign(W) for L1,
# lambda (2 beta W + sign(W)) for the elastic net.
for penalty in (regularizers.L2(0.1), regularizers.L1(0.1), regularizers.ElasticNet(0.1, beta=0.5)):
    print(f"{penalty!r:<38} lambda R(W) = {penalty.penalty(W):.4f}, "
          f"gradient of W[0] = {np.round(penalty.gradient(W)[0], 3)}")
maxnorm = regularizers.MaxNorm(2.0)
print("row norms of W:", np.round(maxnorm.row_norms(W), 3),
      "-> after max-norm c = 2:", np.round(maxnorm.row_norms(maxnorm.project(W)), 3))

# %%
# Five classifiers on the digits
# ------------------------------
# The same softmax classifier, trained with SGD for 40 epochs, with each regulariser (strength
# lambda = 0.01, elastic net beta = 0.5, max-norm c = 1). Biases are not penalised.
from chainrule.datasets import load_digits
from chainrule.models import LinearClassifier

digits = load_digits()
X_train = digits.X_train.reshape(-1, 64) / digits.pixel_max
X_test = digits.X_test.reshape(-1, 64) / digits.pixel_max
settings = {"none": dict(penalty=None), "L2": dict(penalty="l2", alpha=0.01),
            "L1": dict(penalty="l1", alpha=0.01), "elastic net": dict(penalty="elasticnet", alpha=0.01),
            "max-norm": dict(penalty="maxnorm", max_norm=1.0)}
models = {}
print(f"{'penalty':<12} {'test acc':>8} {'sum W^2':>8} {'sum |W|':>8} {'|W| < 1e-3':>10} {'max ||w_j||':>11}")
for name, kw in settings.items():
    clf = LinearClassifier(loss="softmax", max_iter=40, random_state=0, **kw).fit(X_train, digits.y_train)
    models[name] = clf
    Wc = clf.coef_
    print(f"{name:<12} {clf.score(X_test, digits.y_test):8.3f} {np.sum(Wc ** 2):8.1f} {np.abs(Wc).sum():8.1f} "
          f"{np.mean(np.abs(Wc) < 1e-3):10.0%} {np.linalg.norm(Wc, axis=1).max():11.3f}")

# %%
# L1 pulls every weight towards zero by the same amount, so the many weights the data barely
# needs end at (nearly) zero and the templates become sparse; L2 pulls in proportion to the
# weight, shrinking all of them and zeroing only those no digit uses (pixels at the border); the
# elastic net sits between the two; max-norm caps each template's length at c = 1 and leaves
# its shape free. On this small, clean problem every penalty costs some test accuracy: these
# strengths are chosen to make the differences visible, not to tune the classifier.
from chainrule.plotting import new_figure

fig = new_figure(12, 5)
top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.1])
hist_axes = top.subplots(1, len(models), sharey=True)
image_axes = bottom.subplots(1, len(models))
bins = np.linspace(-1.5, 1.5, 61)
for ax_h, ax_i, (name, clf) in zip(hist_axes, image_axes, models.items()):
    ax_h.hist(clf.coef_.ravel(), bins=bins, color="#1f77b4")
    ax_h.set_yscale("log")
    ax_h.set_title(name)
    ax_i.imshow(clf.coef_[3].reshape(8, 8), cmap="RdBu_r", interpolation="nearest")
    ax_i.set_axis_off()
hist_axes[0].set_ylabel("number of weights")
top.suptitle("the 640 weights of W")
bottom.suptitle("the template of the digit 3")
fig

# %%
# Run as a plain script (``python examples/losses/plot_regularization.py``), the example opens
# its figure in a window, or writes it to ``runs/examples/`` where there is no display
# (``plotting.show``).
from chainrule.plotting import show

show(fig)
