"""What each data set is made of: file names, pinned sizes and SHA-256 sums, where to get them.

The checksums are those the data sets' authors publish through their usual mirrors (MNIST: the
files of yann.lecun.com as mirrored by PyTorch and TensorFlow; CIFAR-10: cs.toronto.edu), the
same values that TensorFlow Datasets and torchvision pin.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set, with its pinned size and checksum.

    Parameters
    ----------
    name : str
        The file name (as published).
    size : int
        Its size in bytes.
    sha256 : str
        Its SHA-256, in hexadecimal.
    """
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is made of: its files, where to get them, its classes.

    Parameters
    ----------
    name : str
        The data set's name (also its folder under ``data_home()``).
    files : tuple of RemoteFile
        Every file, with its size and SHA-256.
    urls : tuple of str
        Base URLs, tried in order: the canonical source first.
    class_names : tuple of str
        The name of each class.
    description : str, default ""
        One line for ``chainrule data``.
    subsets : dict, optional
        ``{subset name: file names it needs}`` (``"train"``, ``"test"``).
    max_images : dict, optional
        ``{subset name: the most images its files may hold}``, checked in the headers.
    """
    name: str
    files: tuple[RemoteFile, ...]
    urls: tuple[str, ...]            # base URLs, tried in order: the canonical source first
    class_names: tuple[str, ...]
    description: str = ""
    subsets: dict = field(default_factory=dict)   # subset name -> file names it needs
    max_images: dict = field(default_factory=dict)  # subset name -> most images its files may hold

    def file(self, name: str) -> RemoteFile:
        """The file named ``name``.

        Parameters
        ----------
        name : str
            A file name of the spec.

        Returns
        -------
        RemoteFile

        Raises
        ------
        KeyError
            If the spec has no such file.
        """
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)

    def files_for(self, subset: str | None) -> tuple[RemoteFile, ...]:
        """The files a subset needs.

        Parameters
        ----------
        subset : str or None
            A key of ``subsets``; None for every file.

        Returns
        -------
        tuple of RemoteFile

        Raises
        ------
        ValueError
            If the subset is unknown.
        """
        if subset is None:
            return self.files
        if subset not in self.subsets:
            raise ValueError(f"subset must be one of {sorted(self.subsets)} or None; got {subset!r}")
        return tuple(self.file(n) for n in self.subsets[subset])


MNIST = DatasetSpec(
    name="mnist",
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", 9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        RemoteFile("train-labels-idx1-ubyte.gz", 28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        RemoteFile("t10k-images-idx3-ubyte.gz", 1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", 4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    ),
    urls=(
        "https://yann.lecun.com/exdb/mnist/",                    # canonical
        "https://ossci-datasets.s3.amazonaws.com/mnist/",        # PyTorch's mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",   # TensorFlow's mirror
    ),
    class_names=tuple(str(d) for d in range(10)),
    description="handwritten digits, 28 x 28 grey levels; 60,000 training and 10,000 test images",
    subsets={"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")},
    max_images={"train": 60_000, "test": 10_000},
)

CIFAR10_BINARY = DatasetSpec(
    name="cifar10",
    files=(RemoteFile("cifar-10-binary.tar.gz", 170052171,
                      "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),),
    urls=("https://www.cs.toronto.edu/~kriz/",),
    class_names=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    description="32 x 32 colour images (3,072 numbers) in 10 classes; 50,000 training and 10,000 test",
    subsets={"train": ("cifar-10-binary.tar.gz",), "test": ("cifar-10-binary.tar.gz",)},
)

CIFAR10_PYTHON = DatasetSpec(
    name="cifar10",
    files=(RemoteFile("cifar-10-python.tar.gz", 170498071,
                      "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),),
    urls=("https://www.cs.toronto.edu/~kriz/",),
    class_names=CIFAR10_BINARY.class_names,
    description=CIFAR10_BINARY.description + " (python version, read without executing pickles)",
    subsets={"train": ("cifar-10-python.tar.gz",), "test": ("cifar-10-python.tar.gz",)},
)


def data_home() -> Path:
    """Where data sets are kept: ``$CHAINRULE_DATA`` if set, else the user cache directory.

    Returns
    -------
    pathlib.Path
        ``~/.cache/chainrule`` on Linux when ``$CHAINRULE_DATA`` is not set.
    """
    env = os.environ.get("CHAINRULE_DATA")
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_cache_dir
        return Path(user_cache_dir("chainrule", appauthor=False))
    except ImportError:  # platformdirs is in the 'all' extra; fall back to the XDG convention
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "chainrule"


def dataset_dir(spec: DatasetSpec, data_dir=None) -> Path:
    """The folder holding ``spec``'s files.

    Parameters
    ----------
    spec : DatasetSpec
        The data set.
    data_dir : str or os.PathLike, optional
        The folder chosen by the user.

    Returns
    -------
    pathlib.Path
        ``data_dir`` itself if given, else ``data_home() / spec.name``.
    """
    return Path(data_dir).expanduser() if data_dir is not None else data_home() / spec.name
