"""
A linear classifier's class templates
=====================================

A linear classifier computes one score per class, s = W x + b. Row j of W, w_j^T, is
multiplied with the image x: the score s_j = w_j^T x + b_j is large when the image looks like
w_j. Shown as images, the rows of a trained W are *templates* of the classes.
"""

# %%
# The notes' example: 4 pixels, 3 classes
# ---------------------------------------
# The notes' figure: an image of four pixels, x = (56, 231, 24, 2), and three classes (cat,
# dog, ship). With a W (3 x 4) and b like the figure's, the scores are s = W x + b. A ``Linear(4, 3)`` layer stores W with
# the notes' shape (out, in): row j is w_j^T.
import numpy as np

from chainrule import nn

layer = nn.Linear(4, 3, dtype=np.float64)
layer.weight.value[...] = [[0.2, -0.5, 0.1, 2.0],
                           [1.5, 1.3, 2.1, 0.0],
                           [0.0, 0.25, 0.2, -0.3]]
layer.bias.value[...] = [1.1, 3.2, -1.2]
x = np.array([56.0, 231.0, 24.0, 2.0])
s = layer.forward(x)
for name, score in zip(["cat", "dog", "ship"], s):
    print(f"s_{name:<4} = {score:8.2f}")

# %%
# Templates of the ten digits
# ---------------------------
# ``LinearClassifier`` is the same s = W x + b, trained with one of the notes' losses (here the
# softmax classifier) on scikit-learn's bundled 8 x 8 digits: W has shape (10, 64), one row of
# 64 pixels per digit. A little L2 regularisation keeps the templates smooth.
from chainrule.datasets import load_digits
from chainrule.models import LinearClassifier
from chainrule.plotting import plot_templates

digits = load_digits()
X_train = digits.X_train.reshape(len(digits.X_train), -1) / digits.pixel_max
X_test = digits.X_test.reshape(len(digits.X_test), -1) / digits.pixel_max
clf = LinearClassifier(loss="softmax", alpha=0.01, max_iter=40, random_state=0)
clf.fit(X_train, digits.y_train)
print(f"W has shape {clf.coef_.shape}; test accuracy {clf.score(X_test, digits.y_test):.3f}")

fig = plot_templates(clf.coef_, (8, 8), digits.class_names)
fig

# %%
# Red pixels are where the class's template has positive weights: ink there raises that
# digit's score. Blue pixels lower it; all panels share the colour bar's scale. A single
# template per class is all a linear classifier has, which is why it cannot represent two
# different ways of writing the same
# digit; the :ref:`deep networks <sphx_glr_auto_examples_introduction_plot_handcrafted_vs_learned.py>`
# learn many.

# %%
# Run as a plain script (``python examples/introduction/plot_linear_templates.py``), the example
# opens its figure in a window, or writes it to ``runs/examples/`` where there is no display
# (``plotting.show``).
from chainrule.plotting import show

show(fig)
