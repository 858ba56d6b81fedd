"""
The quadratic classifier: a linear classifier on polynomial features
====================================================================

The notes' "2-D linear classifier" is linear in its weights but quadratic in the input: it
adds every square x_k^2 and every product x_k x_l to the features, for
(d + 1)(d + 2) / 2 weights in all. The four XOR points, which no line separates, become
separable.
"""

# %%
# How many weights
# ----------------
# A linear classifier on d inputs has d + 1 weights; a quadratic one has (d + 1)(d + 2) / 2
# (every monomial of degree at most 2, the constant included). For MNIST's d = 784 that is
# 308,505.
from chainrule.features import PolynomialFeatures, n_polynomial_features

for d in (2, 64, 784):
    print(f"d = {d:>3}: linear {d + 1:>4} weights, quadratic {n_polynomial_features(d, 2):>7,} "
          f"= (d + 1)(d + 2) / 2 = {(d + 1) * (d + 2) // 2:,}")

poly = PolynomialFeatures(2).fit([[0.0, 0.0]])
print("features of x = (x0, x1):", ", ".join(poly.get_feature_names_out()))

# %%
# XOR, with and without the quadratic terms
# -----------------------------------------
# 200 noisy copies of the notes' points a = (0, 0), b = (1, 0), c = (0, 1), d = (1, 1), where a
# and d are one class and b and c the other. A linear classifier (the multiclass hinge loss,
# full-batch gradient descent) on the raw points cannot do better than about 3 in 4; on the
# quadratic features the product x0 x1 separates the classes.
from chainrule.datasets import make_xor
from chainrule.models import LinearClassifier
from chainrule.plotting import new_figure, plot_boundary

X, y = make_xor(200, noise=0.08, rng=0)
quad = PolynomialFeatures(2, include_bias=False).fit(X)   # the classifier's bias is the constant
settings = dict(loss="hinge", batch_size=None, max_iter=300, learning_rate_init=0.1, alpha=0.0, tol=0, random_state=0)
linear = LinearClassifier(**settings).fit(X, y)
quadratic = LinearClassifier(**settings).fit(quad.transform(X), y)
print(f"linear:    accuracy {linear.score(X, y):.2f} with {linear.coef_.size + linear.intercept_.size} weights")
print(f"quadratic: accuracy {quadratic.score(quad.transform(X), y):.2f} "
      f"with {quadratic.coef_.size + quadratic.intercept_.size} weights")

fig = new_figure(11, 5)
ax1, ax2 = fig.subplots(1, 2)
plot_boundary(linear.predict, X, y, ("a, d", "b, c"), ax=ax1,
              title=f"linear: accuracy {linear.score(X, y):.2f}")
plot_boundary(lambda P: quadratic.predict(quad.transform(P)), X, y, ("a, d", "b, c"), ax=ax2,
              title=f"quadratic: accuracy {quadratic.score(quad.transform(X), y):.2f}")
fig

# %%
# The quadratic boundary is a conic section in the original plane, although the classifier is
# still linear in its (d + 1)(d + 2) / 2 = 6 weights. The price is the number of weights, which grows with d^2: the reason the notes
# move on to learned features.

# %%
# Run as a plain script (``python examples/introduction/plot_quadratic_classifier.py``), the
# example opens its figure in a window, or writes it to ``runs/examples/`` where there is no
# display (``plotting.show``).
from chainrule.plotting import show

show(fig)
