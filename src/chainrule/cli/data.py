"""The data sets the command line knows, as train/test splits with what the pictures need."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._parser import refuse_given
from ._types import PathArg

IMAGE_SETS = ("digits", "mnist", "mnist10k", "cifar10")
POINT_SETS = ("xor", "spirals", "blobs")
ALL = IMAGE_SETS + POINT_SETS
FILE_SETS = ("mnist", "mnist10k", "cifar10")      # read from files (downloaded unless --no-download)

# The shape of one sample of each set, known without loading it (to refuse a bad combination
# of options before any download); points are pairs of coordinates.
SAMPLE_SHAPES = {"digits": (8, 8), "mnist": (28, 28), "mnist10k": (28, 28), "cifar10": (32, 32, 3),
                 "xor": (2,), "spirals": (2,), "blobs": (2,)}
N_CLASSES = {"digits": 10, "mnist": 10, "mnist10k": 10, "cifar10": 10, "xor": 2, "spirals": 3, "blobs": 3}


@dataclass
class Split:
    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    kind: str                 # "image" or "points"
    pixel_max: float = 1.0

    @property
    def image_shape(self):
        return tuple(self.X_train.shape[1:]) if self.kind == "image" else None


def hog_settings(image_shape) -> dict:
    """HOGFeatures' settings for images of ``image_shape`` (train's --features hog and demo handcrafted):
    small images (the 8 x 8 digits) resized to 24 x 24 with cells of 6 x 6, others cells of 4 x 4;
    a histogram of 12 hues for colour images."""
    small = max(image_shape[:2]) < 16
    return dict(resize_to=(24, 24) if small else None, pixels_per_cell=(6, 6) if small else (4, 4),
                hue_bins=12 if len(image_shape) == 3 else 0)


def add_file_options(p, data_dir_help: str, dir_kind: str = "out_dir") -> None:
    """--data-dir and --no-download: where a data set read from files is, and whether it may be downloaded."""
    p.add_argument("--data-dir", type=PathArg(dir_kind), default=None, help=data_dir_help)
    p.add_argument("--no-download", action="store_true",
                   help="never download; fail if the files are missing (mnist, mnist10k, cifar10)")


def refuse_file_options(args, name: str, shown: str | None = None) -> None:
    """Refuse --data-dir and --no-download given for a data set that is not read from files
    (``shown``: how the message names the data set, default ``--dataset NAME``)."""
    if name not in FILE_SETS:
        why = "it is bundled with scikit-learn" if name == "digits" else "it is generated, not read from files"
        refuse_given(args, ("--data-dir", "--no-download"), f"{shown or '--dataset ' + name}: {why}")


def load(name: str, data_dir=None, download: bool = True, seed: int = 0) -> Split:
    from .. import datasets

    if name == "digits":
        d = datasets.load_digits()
        return Split(name, d.X_train, d.y_train, d.X_test, d.y_test, d.class_names, "image", d.pixel_max)
    if name == "mnist":
        d = datasets.load_mnist(data_dir, download=download)
        return Split(name, d.X_train, d.y_train, d.X_test, d.y_test, d.class_names, "image", 255)
    if name == "mnist10k":
        d = datasets.load_mnist(data_dir, download=download, subset="test")
        X, y = d.X_test, d.y_test
        return Split(name, X[:8000], y[:8000], X[8000:], y[8000:], d.class_names, "image", 255)
    if name == "cifar10":
        d = datasets.load_cifar10(data_dir, download=download)
        return Split(name, d.X_train, d.y_train, d.X_test, d.y_test, d.class_names, "image", 255)
    makers = {"xor": lambda r: datasets.make_xor(400, noise=0.15, rng=r),
              "spirals": lambda r: datasets.make_spirals(450, 3, noise=0.15, rng=r),
              "blobs": lambda r: datasets.make_blobs(300, 3, std=0.7, rng=r)}
    if name in makers:
        Xtr, ytr = makers[name](np.random.default_rng(seed))
        Xte, yte = makers[name](np.random.default_rng(seed + 10_000))
        names = tuple(str(c) for c in range(int(ytr.max()) + 1))
        return Split(name, Xtr, ytr, Xte, yte, names, "points")
    raise ValueError(f"dataset must be one of {', '.join(ALL)}; got {name!r}")
