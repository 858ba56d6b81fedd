"""chainrule evaluate RUN: accuracy and confusion matrix of a trained model on a test set."""
from __future__ import annotations

import numpy as np

from . import data
from ._errors import UsageError, one_line
from ._runfile import open_run
from ._types import PathArg


def add_parser(sub):
    e = sub.add_parser("evaluate", help="accuracy and confusion matrix of a trained model on a test set",
                       description="Load RUN (a folder written by chainrule train, or its model.safetensors) and "
                                   "evaluate it on the test split of its data set (or of --dataset).")
    e.add_argument("dir", metavar="RUN", type=PathArg("run"),
                   help="a folder written by chainrule train, or a model file (.safetensors)")
    e.add_argument("--dataset", default=None, choices=data.ALL,
                   help="data set (default: the one it was trained on, from RUN/config.json)")
    data.add_file_options(e, "folder holding the data set's files (default: the one used in training, else the cache)")
    e.set_defaults(run=run)


def _check_fits(run, name: str) -> None:
    """Refuse a --dataset whose samples or classes are not the ones the model was trained on."""
    if run.dataset is None or name == run.dataset:
        return
    shape = data.SAMPLE_SHAPES[name]
    trained = run.image_shape if run.kind == "image" else (run.n_inputs,)
    if tuple(trained) != shape:
        what = "x".join(map(str, shape)) + (" images" if name in data.IMAGE_SETS else " coordinates")
        had = "x".join(map(str, trained)) + (" images" if run.kind == "image" else " coordinates")
        raise UsageError(f"--dataset {name} has samples of {what}; the model was trained on {run.dataset} "
                         f"({had})")
    if data.N_CLASSES[name] != len(run.class_names):
        raise UsageError(f"--dataset {name} has {data.N_CLASSES[name]} classes; the model was trained on "
                         f"{run.dataset} ({len(run.class_names)} classes)")


def _say_ignored_data_dir(args, model_run, name: str) -> None:
    """A run's config.json records the --data-dir it was trained with; a file's settings never choose
    where chainrule reads, writes or downloads (a config naming /etc or another user's folder would
    make evaluate create it and download into it), so it is not used: the data come from --data-dir,
    else $CHAINRULE_DATA or the cache. One line says so when the recorded folder is another one."""
    import os
    import sys

    recorded = model_run.data_dir
    if recorded is None or name != model_run.dataset or name not in data.FILE_SETS:
        return
    from ..datasets.spec import CIFAR10_BINARY, MNIST, dataset_dir

    used = dataset_dir(CIFAR10_BINARY if name == "cifar10" else MNIST, args.data_dir)
    if os.path.abspath(os.path.expanduser(recorded)) != os.path.abspath(used):
        print(f"chainrule evaluate: {model_run.config_path} records the data folder {recorded}; it is not used (a "
              f"file's settings never choose where chainrule reads or downloads data); reading {used} instead "
              f"(give --data-dir {recorded} to use that folder)", file=sys.stderr)


def run(args) -> int:
    from ..training.metrics import confusion_matrix

    model_run = open_run(args.dir)
    name = args.dataset or model_run.dataset
    if name is None:
        raise UsageError(f"give --dataset: {args.dir} has no config.json beside it to say what it was trained on")
    data.refuse_file_options(args, name, shown=name)
    _check_fits(model_run, name)
    _say_ignored_data_dir(args, model_run, name)
    split = data.load(name, args.data_dir, download=not args.no_download, seed=model_run.seed)
    model = model_run.load_model()
    try:
        y_pred = np.asarray(model.predict(split.X_test)).astype(int)
    except ValueError as exc:
        raise UsageError(f"the model in {args.dir} does not take {name}'s samples: {one_line(exc)}") from None
    if y_pred.size and (y_pred.min() < 0 or y_pred.max() >= len(split.class_names)):
        raise UsageError(f"the model in {args.dir} predicts classes that {name} does not have "
                         f"({name} has {len(split.class_names)})")
    acc = float(np.mean(y_pred == split.y_test))
    cm = confusion_matrix(split.y_test, y_pred, len(split.class_names))
    print(f"{name} test set: {len(split.y_test):,} samples, accuracy {acc:.4f} "
          f"({int((y_pred == split.y_test).sum())} correct)")
    width = max(5, max(len(str(c)) for c in split.class_names) + 1)
    print("confusion matrix (rows: true class, columns: predicted):")
    print(" " * width + "".join(f"{str(c):>{width}}" for c in split.class_names))
    for c, row in zip(split.class_names, cm):
        print(f"{str(c):>{width}}" + "".join(f"{v:>{width}d}" for v in row))
    per_class = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    worst = int(np.argmin(per_class))
    print(f"hardest class: {split.class_names[worst]} ({per_class[worst]:.3f} correct)")
    return 0
