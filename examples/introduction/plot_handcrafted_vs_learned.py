"""
Hand-crafted against learned features
=====================================

"Machine learning = feature descriptor + classifier": before deep learning, an expert chose
the features (SIFT, bag of words, the histogram of oriented gradients, HOG) and a classifier
(nearest neighbour, an SVM) was trained on them. Deep learning learns the features too, end to
end. This example puts the two side by side on the bundled 8 x 8 digits: HOG with a linear
classifier and with a nearest-neighbour classifier, against a multi-layer perceptron and a
convolutional network (the lenet of ``CNNClassifier``) on the raw pixels.
"""

# %%
# The data
# --------
import time

import numpy as np

from chainrule.datasets import Standardize, load_digits

digits = load_digits()
flat = lambda images: images.reshape(len(images), -1).astype(np.float32) / digits.pixel_max  # noqa: E731
X_train, X_test = flat(digits.X_train), flat(digits.X_test)
print(f"{len(X_train)} training and {len(X_test)} test images of {digits.image_shape}")

# %%
# Hand-crafted: HOG
# -----------------
# The images are first enlarged to 24 x 24 (8 x 8 pixels are too few for gradients), then
# described by histograms of gradient orientations in cells of 6 x 6 pixels, normalised over
# blocks of 2 x 2 cells: 324 numbers per image, standardised on the training set.
from chainrule.features import HOGFeatures

t = time.perf_counter()
hog = HOGFeatures(resize_to=(24, 24), pixels_per_cell=(6, 6))
H_train = hog.fit_transform(digits.X_train)
H_test = hog.transform(digits.X_test)
scale = Standardize().fit(H_train)
H_train, H_test = scale.transform(H_train), scale.transform(H_test)
print(f"HOG: {H_train.shape[1]} features per image in {time.perf_counter() - t:.1f} s")

# %%
# Six classifiers
# ---------------
# The CNN takes the images as images, (N, H, W); 20 epochs at batch 32 give the 1,437 images 900
# steps, more than the 625 its default 5 epochs take on MNIST's 8,000 at batch 64. ``n_threads=1``:
# matrices this small gain nothing from a second BLAS thread, and on a busy two-core machine
# threads waiting on each other made this example ten times slower (56 s instead of 6).
from chainrule.features import KNeighborsClassifier
from chainrule.models import CNNClassifier, LinearClassifier, MLPClassifier

images_train = digits.X_train.astype(np.float32) / digits.pixel_max
images_test = digits.X_test.astype(np.float32) / digits.pixel_max

one = dict(random_state=0, n_threads=1)
runs = [
    ("HOG + linear (softmax)", lambda: LinearClassifier(max_iter=40, **one), H_train, H_test),
    ("HOG + nearest neighbour", lambda: KNeighborsClassifier(3), H_train, H_test),
    ("pixels + linear (softmax)", lambda: LinearClassifier(max_iter=40, **one), X_train, X_test),
    ("pixels + nearest neighbour", lambda: KNeighborsClassifier(3), X_train, X_test),
    ("pixels + MLP (128 hidden)", lambda: MLPClassifier((128,), max_iter=200, **one), X_train, X_test),
    ("pixels + CNN (lenet)", lambda: CNNClassifier(max_iter=20, batch_size=32, **one), images_train, images_test),
]
results, accs = {}, {}
for name, make, A, B in runs:
    model = make().fit(A, digits.y_train)
    results[name], accs[name] = model, model.score(B, digits.y_test)
    print(f"{name:<28} test accuracy {accs[name]:.3f}")
mlp = results["pixels + MLP (128 hidden)"]

# %%
# What the network learned
# ------------------------
# The network's first layer plays the part of the feature descriptor: each of its 128 rows is a
# pattern of weights over the 64 pixels, learned from the labels alone. Here are the first 16,
# next to the test accuracies.
from chainrule.plotting import new_figure

fig = new_figure(12, 4.5)
left, right = fig.subfigures(1, 2, width_ratios=[1.1, 1])
ax = left.subplots()
names = list(results)
colors = ["#2ca02c" if n.startswith("HOG") else "#1f77b4" for n in names]
ax.barh(names, [accs[n] for n in names], color=colors)
ax.set(xlim=(0.9, 1.0), xlabel="test accuracy", title="hand-crafted (green) and raw-pixel (blue) inputs")
ax.invert_yaxis()
W1 = mlp.model_[0].weight.value
axes = right.subplots(4, 4)
for j, a in enumerate(axes.ravel()):
    a.imshow(W1[j].reshape(8, 8), cmap="RdBu_r", interpolation="nearest")
    a.set_axis_off()
right.suptitle("learned features: rows of the first layer's W")
fig

# %%
# What the CNN learned
# --------------------
# The CNN's first layer is 32 filters of 3 x 3 pixels slid over the whole image: the notes'
# "low-level features (edge, corner points)". ``plot_filters`` draws them on one symmetric
# colour scale (white is zero); ``plot_feature_maps`` shows what they, and the layers after
# them, make of one test image.
from chainrule.plotting import plot_feature_maps, plot_filters

cnn = results["pixels + CNN (lenet)"]
filters = plot_filters(cnn)
filters

# %%
maps = plot_feature_maps(cnn, images_test[0], max_maps=8, label=f"a {digits.y_test[0]}")
maps

# %%
# On 1,437 tiny images the expert's features are hard to beat: HOG encodes what an expert knows
# about strokes, and the nearest neighbour needs no training at all. The network gets close
# while knowing nothing about images; its features were learned from the labels alone. With
# more data (MNIST's 60,000 images, ``chainrule train --dataset mnist``) and architectures made
# for images, learned features pull ahead: the notes' argument for deep learning.

# %%
# Run as a plain script (``python examples/introduction/plot_handcrafted_vs_learned.py``), the
# example opens its figures in windows, or writes them to ``runs/examples/`` where there is no
# display (``plotting.show``).
from chainrule.plotting import show

show(fig, filters, maps)
