"""Data sets: MNIST, CIFAR-10, the bundled digits (no network), the notes' toy sets, and
preprocessing fitted on training data only.

Files are verified against pinned sizes and SHA-256 sums before they are parsed, cached under
``$CHAINRULE_DATA`` (or the user cache directory) and written atomically. ``python -m
chainrule.datasets info`` shows where each data set lives and whether it is present and verified.

The loaders need NumPy only; the preprocessing transformers (scikit-learn estimators) are imported
when first used, so reading data does not pay for importing scikit-learn.
"""
import importlib

from ..errors import DatasetCorrupt, DatasetMissing
from .download import check_file, fetch, status
from .idx import read_idx, read_mnist_pair, write_idx
from .loaders import ImageDataset, load_cifar10, load_digits, load_mnist
from .spec import CIFAR10_BINARY, CIFAR10_PYTHON, MNIST, DatasetSpec, RemoteFile, data_home, dataset_dir
from .toy import make_blobs, make_polynomial_curve, make_spirals, make_xor, regression_toy, xor_points

__all__ = [
    "load_mnist", "load_cifar10", "load_digits", "ImageDataset", "read_idx", "write_idx", "read_mnist_pair",
    "fetch", "status", "check_file", "DatasetSpec", "RemoteFile", "MNIST", "CIFAR10_BINARY", "CIFAR10_PYTHON",
    "data_home", "dataset_dir", "DatasetMissing", "DatasetCorrupt", "regression_toy", "xor_points", "make_xor",
    "make_polynomial_curve", "make_spirals", "make_blobs", "ScaleToUnit", "Standardize", "SubtractMeanImage",
    "Flatten", "ChannelsFirst", "train_validation_split",
]

_PREPROCESSING = ("Flatten", "ChannelsFirst", "ScaleToUnit", "Standardize", "SubtractMeanImage", "train_validation_split")


def __getattr__(name):
    if name in _PREPROCESSING:
        return getattr(importlib.import_module(".preprocessing", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
