"""
Feature-space transformation: XOR made linearly separable
=========================================================

The notes map each point x = (x1, x2) to

    x' = (x1 / (2 x1 x2 + 0.5), x2 / (2 x1 x2 + 0.5))

and the four XOR points a, b, c, d land where one line separates the two classes. Choosing
such a map by hand is feature engineering; deep learning learns one.
"""

# %%
# The notes' four points
# ----------------------
# a = (0, 0) -> (0, 0), b = (1, 0) -> (2, 0), c = (0, 1) -> (0, 2), d = (1, 1) -> (0.4, 0.4).
from chainrule.datasets import make_xor, xor_points
from chainrule.features import notes_transform

corners, labels = xor_points()
for name, p, q, label in zip("abcd", corners, notes_transform(corners), labels):
    print(f"{name} = ({p[0]:g}, {p[1]:g}) -> {name}' = ({q[0]:g}, {q[1]:g})   class {label}")

# %%
# A linear classifier before and after
# ------------------------------------
# On noisy XOR points, the same linear classifier (hinge loss, full-batch gradient descent)
# fails in the original space and succeeds in the transformed one: a' and d' lie near the
# origin, b' and c' far out along the axes.
from chainrule.models import LinearClassifier
from chainrule.plotting import new_figure, plot_boundary

X, y = make_xor(200, noise=0.08, rng=0)
Xt = notes_transform(X)
settings = dict(loss="hinge", batch_size=None, max_iter=200, learning_rate_init=0.05, alpha=0.0, tol=0, random_state=0)
before = LinearClassifier(**settings).fit(X, y)
after = LinearClassifier(**settings).fit(Xt, y)
print(f"accuracy in the original space {before.score(X, y):.2f}, after the transform {after.score(Xt, y):.2f}")

fig = new_figure(11, 5)
ax1, ax2 = fig.subplots(1, 2)
plot_boundary(before.predict, X, y, ("a, d", "b, c"), ax=ax1,
              title=f"original space: accuracy {before.score(X, y):.2f}")
plot_boundary(after.predict, Xt, y, ("a', d'", "b', c'"), ax=ax2, axis_names=("x1'", "x2'"),
              title=f"x' = x / (2 x1 x2 + 0.5): accuracy {after.score(Xt, y):.2f}")
for ax, points, tick in ((ax1, corners, ""), (ax2, notes_transform(corners), "'")):
    for name, (u, v) in zip("abcd", points):
        ax.annotate(name + tick, (u, v), fontsize=12, fontweight="bold")
fig

# %%
# Run as a plain script (``python examples/introduction/plot_feature_transform.py``), the
# example opens its figure in a window, or writes it to ``runs/examples/`` where there is no
# display (``plotting.show``).
from chainrule.plotting import show

show(fig)
