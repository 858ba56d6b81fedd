"""load_mnist, load_cifar10 and load_digits: images as uint8 plus integer labels and class names."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cifar import load_binary_archive, load_python_archive
from .download import fetch
from .idx import read_mnist_pair
from .spec import CIFAR10_BINARY, CIFAR10_PYTHON, MNIST, DatasetSpec, dataset_dir


@dataclass
class ImageDataset:
    """Images and labels of a standard split.

    Parameters
    ----------
    name : str
        The data set's name.
    X_train : ndarray of uint8 or None
        Training images, (N, H, W) (grey) or (N, H, W, 3) (colour); None when not loaded.
    y_train : ndarray of int or None
        Training labels 0..C-1.
    X_test : ndarray of uint8 or None
        Test images.
    y_test : ndarray of int or None
        Test labels.
    class_names : tuple of str
        The name of each class.
    pixel_max : int, default 255
        Pixel values run from 0 to this.
    """

    name: str
    X_train: np.ndarray | None
    y_train: np.ndarray | None
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: tuple
    pixel_max: int = 255

    @property
    def image_shape(self) -> tuple:
        """The shape of one image: (H, W) or (H, W, 3)."""
        X = self.X_train if self.X_train is not None else self.X_test
        return tuple(X.shape[1:])

    def __repr__(self) -> str:
        def n(a):
            return "-" if a is None else f"{a.shape[0]:,}"
        return (f"ImageDataset({self.name!r}, train={n(self.X_train)}, test={n(self.X_test)}, "
                f"image_shape={self.image_shape}, classes={len(self.class_names)})")


def load_mnist(data_dir=None, download: bool = True, subset: str | None = None, *, mirrors=(),
               progress: bool = True, spec: DatasetSpec = MNIST) -> ImageDataset:
    """MNIST: 60,000 training and 10,000 test images of handwritten digits, 28 x 28.

    Files are verified against their pinned sizes and SHA-256 sums, and downloaded if missing.
    Headers are checked before data is read: at most 60,000 training and 10,000 test images of
    28 x 28 (``spec.max_images``), so a hostile file costs no more memory than the real one. A file
    that fails verification is removed only if chainrule downloaded it into its own cache;
    anywhere else it is named in the error and left alone.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Where the files are (default ``$CHAINRULE_DATA/<name>`` or the user cache).
    download : bool, default True
        Download missing files (the canonical source, then ``mirrors``).
    subset : {"train", "test"} or None, default None
        Load only that half (only its files are needed); None loads both.
    mirrors : sequence of str, default ()
        Base URLs to try after the spec's own sources.
    progress : bool, default True
        Show download progress.
    spec : DatasetSpec, default ``MNIST``
        The files and their checksums (another spec for an MNIST-format set).

    Returns
    -------
    ImageDataset
        A subset not loaded is None.

    Raises
    ------
    DatasetMissing
        If a file is absent and cannot be downloaded (the message says where to put it).
    DatasetCorrupt
        If a file fails verification or parsing.
    """
    folder = dataset_dir(spec, data_dir)
    paths = fetch(spec, folder, spec.files_for(subset), download=download, mirrors=mirrors, progress=progress)
    Xtr = ytr = Xte = yte = None
    limits = {"train": 60_000, "test": 10_000, **spec.max_images}   # MNIST's sizes unless the spec says
    if subset in (None, "train"):
        Xtr, ytr = read_mnist_pair(paths[spec.subsets["train"][0]], paths[spec.subsets["train"][1]],
                                   max_images=limits["train"], root=folder)
    if subset in (None, "test"):
        Xte, yte = read_mnist_pair(paths[spec.subsets["test"][0]], paths[spec.subsets["test"][1]],
                                   max_images=limits["test"], root=folder)
    return ImageDataset("mnist", Xtr, ytr, Xte, yte, spec.class_names)


def load_cifar10(data_dir=None, download: bool = True, subset: str | None = None, *, format: str = "binary",
                 mirrors=(), progress: bool = True, spec: DatasetSpec | None = None) -> ImageDataset:
    """CIFAR-10: 50,000 training and 10,000 test colour images of 32 x 32 x 3, in 10 classes.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Where the files are (default ``$CHAINRULE_DATA/<name>`` or the user cache).
    download : bool, default True
        Download missing files (the canonical source, then ``mirrors``).
    subset : {"train", "test"} or None, default None
        Load only that half (only its files are needed); None loads both.
    format : {"binary", "python"}, default "binary"
        ``"binary"`` reads the binary version's records; ``"python"`` reads the python version
        through a restricted unpickler (never ``pickle.load``).
    mirrors : sequence of str, default ()
        Base URLs to try after the spec's own sources.
    progress : bool, default True
        Show download progress.
    spec : DatasetSpec, optional
        The files and their checksums (default: the one of ``format``).

    Returns
    -------
    ImageDataset
        A subset not loaded is None.

    Raises
    ------
    ValueError
        If ``format`` or ``subset`` is unknown.
    DatasetMissing
        If a file is absent and cannot be downloaded (the message says where to put it).
    DatasetCorrupt
        If a file fails verification or parsing.

    Notes
    -----
    Images are returned as (N, 32, 32, 3) uint8.
    """
    if format not in ("binary", "python"):
        raise ValueError(f"format must be 'binary' or 'python'; got {format!r}")
    spec = spec or (CIFAR10_BINARY if format == "binary" else CIFAR10_PYTHON)
    if subset not in (None, "train", "test"):
        raise ValueError(f"subset must be 'train', 'test' or None; got {subset!r}")
    folder = dataset_dir(spec, data_dir)
    paths = fetch(spec, folder, download=download, mirrors=mirrors, progress=progress)
    archive = paths[spec.files[0].name]
    if format == "binary":
        Xtr, ytr, Xte, yte, names = load_binary_archive(archive, subset, root=folder)
        class_names = names if len(names) == 10 else spec.class_names
    else:
        Xtr, ytr, Xte, yte = load_python_archive(archive, subset, root=folder)
        class_names = spec.class_names
    return ImageDataset("cifar10", Xtr, ytr, Xte, yte, tuple(class_names))


def load_digits(test_size: int = 360, random_state: int = 0) -> ImageDataset:
    """scikit-learn's bundled 8 x 8 digits (1,797 images, grey levels 0-16): the default data set,
    needing no network.

    Parameters
    ----------
    test_size : int, default 360
        The number of test images (a stratified split).
    random_state : int, default 0
        Seeds the split (360 and 0: the split every chainrule test and example uses).

    Returns
    -------
    ImageDataset
        Images (N, 8, 8), ``pixel_max`` 16.
    """
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    images = d.images.astype(np.uint8)
    Xtr, Xte, ytr, yte = train_test_split(images, d.target.astype(np.uint8), test_size=test_size,
                                          stratify=d.target, random_state=random_state)
    return ImageDataset("digits", Xtr, ytr, Xte, yte, tuple(str(i) for i in range(10)), pixel_max=16)
