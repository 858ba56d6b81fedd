"""chainrule train: fit a model on a data set and leave the model, its history and pictures."""
from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__, io
from .._atomic import atomic_write_text
from .._lock import PathLock, PathLocked
from ..datasets import Flatten, ScaleToUnit, Standardize, train_validation_split
from ..errors import TrainingDiverged
from ..features import HOGFeatures, PolynomialFeatures
from ..models import LinearClassifier, MLPClassifier
from ..registry import ACTIVATIONS, CLASSIFICATION_LOSSES, OPTIMIZERS, PENALTIES
from ..training.metrics import confusion_matrix
from . import data
from ._parser import UsageError, fraction, positive_float, positive_int, sizes

DEFAULT_LR = {"adam": 2e-3, "sgd": 0.05}


def add_parser(sub):
    p = sub.add_parser("train", help="train a model and write it, its history and pictures to --out",
                       description="Train a linear classifier or a network on a data set. Writes model.safetensors, "
                                   "config.json, history.json and pictures (curves, confusion, templates, "
                                   "boundary, mistakes) to --out.")
    p.add_argument("--dataset", default="digits", choices=data.ALL, help="data set (default: digits, no network)")
    p.add_argument("--data-dir", default=None, help="folder holding the data set's files (default: the cache)")
    p.add_argument("--no-download", action="store_true", help="never download; fail if the files are missing")
    p.add_argument("--model", default="mlp", choices=("linear", "mlp"), help="linear classifier s = Wx + b, or a network")
    p.add_argument("--loss", default="softmax", choices=tuple(CLASSIFICATION_LOSSES))
    p.add_argument("--hidden", type=sizes, default=(256, 128), help="hidden layer sizes, e.g. 512,256 (mlp)")
    p.add_argument("--activation", default="relu", choices=tuple(ACTIVATIONS))
    p.add_argument("--optimizer", default="adam", choices=tuple(OPTIMIZERS))
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate (default: adam 0.002, sgd 0.05)")
    p.add_argument("--lr-schedule", default="cosine", choices=("constant", "step", "exponential", "cosine"))
    p.add_argument("--momentum", type=fraction, default=0.9, help="SGD momentum")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--epochs", type=positive_int, default=30)
    p.add_argument("--penalty", default="l2", choices=tuple(str(v).lower() for v in PENALTIES))
    p.add_argument("--alpha", type=float, default=1e-4, help="penalty strength lambda")
    p.add_argument("--dropout", type=fraction, default=0.2, help="drop probability after each hidden layer (mlp)")
    p.add_argument("--batch-norm", action="store_true", help="batch normalisation after each hidden linear layer")
    p.add_argument("--features", default="raw", choices=("raw", "hog", "poly2"),
                   help="raw pixels/coordinates, HOG (images), or degree-2 polynomial features")
    p.add_argument("--validation-fraction", type=fraction, default=0.1,
                   help="share of the training set held out for validation curves (0 for none)")
    p.add_argument("--early-stopping", type=positive_int, default=None, metavar="PATIENCE",
                   help="stop when the validation loss has not improved for PATIENCE epochs; keep the best weights")
    p.add_argument("--seed", type=int, default=0, help="one seed for initialisation, shuffling, dropout and splits")
    p.add_argument("--out", default=None, help="output folder (default: runs/<dataset>-<model>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(run=run)
    return p


def _steps(args, split) -> list:
    """The preprocessing of --features for this data set (fitted on the training images only)."""
    if split.kind == "image":
        if args.features == "raw":
            return [("scale", ScaleToUnit(split.pixel_max)), ("flatten", Flatten())]
        if args.features == "hog":
            h, w = split.image_shape[:2]
            small = max(h, w) < 16
            hog = HOGFeatures(resize_to=(24, 24) if small else None, pixels_per_cell=(6, 6) if small else (4, 4),
                              cells_per_block=(2, 2), hue_bins=12 if len(split.image_shape) == 3 else 0)
            return [("hog", hog), ("standardize", Standardize())]
        d = int(np.prod(split.image_shape))
        n = (d + 1) * (d + 2) // 2
        if d > 100:
            raise UsageError(f"--features poly2 on {d} inputs gives {n:,} features; use raw or hog for {split.name}")
        return [("scale", ScaleToUnit(split.pixel_max)), ("flatten", Flatten()), ("poly2", PolynomialFeatures(2))]
    if args.features == "hog":
        raise UsageError(f"--features hog needs images; {split.name} is points in the plane")
    if args.features == "poly2":
        return [("poly2", PolynomialFeatures(2))]
    return []


def _estimator(args):
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    penalty = None if args.penalty == "none" else args.penalty
    common = dict(loss=args.loss, penalty=penalty, alpha=args.alpha, optimizer=args.optimizer, lr=lr,
                  momentum=args.momentum, batch_size=args.batch_size, epochs=args.epochs,
                  lr_schedule=None if args.lr_schedule == "constant" else args.lr_schedule,
                  early_stopping=args.early_stopping is not None, n_iter_no_change=args.early_stopping or 10,
                  tol=0.0, random_state=args.seed, verbose=0 if args.quiet else 1)
    if args.model == "linear":
        return LinearClassifier(**common)
    return MLPClassifier(hidden_layer_sizes=tuple(args.hidden), activation=args.activation, dropout=args.dropout,
                         batch_norm=args.batch_norm, **common)


def _fit(args, split, out, steps):
    from sklearn.pipeline import Pipeline

    Xtr, ytr = split.X_train, split.y_train
    val = None
    if args.validation_fraction > 0:
        Xtr, Xva, ytr, yva = train_validation_split(Xtr, ytr, args.validation_fraction, random_state=args.seed)
        val = (Xva, yva)
    est = _estimator(args)
    prep = Pipeline(steps) if steps else None
    Xfit = prep.fit_transform(Xtr) if prep is not None else Xtr
    val_t = (prep.transform(val[0]) if prep is not None else val[0], val[1]) if val is not None else None
    t0 = time.perf_counter()
    try:
        est.fit(Xfit, ytr, validation_data=val_t)
    except TrainingDiverged as exc:
        exc.history.save(out / "history.json")
        raise
    seconds = time.perf_counter() - t0
    model = Pipeline(steps + [("model", est)]) if steps else est
    return model, est, (Xtr, ytr), val, seconds


def _pictures(args, split, model, est, out, y_pred) -> list[str]:
    from .. import plotting

    written = []
    plotting.plot_curves(est.history_, out / "curves.png",
                         title=f"{args.model} on {split.name}: loss and accuracy per epoch")
    written.append("curves.png")
    cm = confusion_matrix(split.y_test, y_pred, len(split.class_names))
    plotting.plot_confusion(cm, split.class_names, out / "confusion.png")
    written.append("confusion.png")
    if split.kind == "image":
        if args.model == "linear" and args.features == "raw":
            plotting.plot_templates(est.coef_, split.image_shape, split.class_names, out / "templates.png")
            written.append("templates.png")
        plotting.plot_mistakes(split.X_test, split.y_test, y_pred, split.class_names, out / "mistakes.png",
                               pixel_max=split.pixel_max)
        written.append("mistakes.png")
    else:
        plotting.plot_boundary(model.predict, split.X_test, split.y_test, split.class_names, out / "boundary.png",
                               title=f"{args.model} on {split.name} ({args.features} features): decision regions")
        written.append("boundary.png")
    return written


def run(args) -> int:
    out = Path(args.out or f"runs/{args.dataset}-{args.model}")
    try:
        lock = PathLock(out).acquire()      # one live run per --out folder: never a mixed folder
    except PathLocked as exc:
        print(f"chainrule train: {exc}", file=sys.stderr)
        return 1
    with lock:
        return _run(args, out)


def _run(args, out: Path) -> int:
    split = data.load(args.dataset, args.data_dir, download=not args.no_download, seed=args.seed)
    steps = _steps(args, split)          # settings that do not fit the data set fail here, before any output
    out.mkdir(parents=True, exist_ok=True)
    print(f"{split.name}: {len(split.y_train):,} training and {len(split.y_test):,} test samples, "
          f"{len(split.class_names)} classes; model {args.model}, features {args.features}", file=sys.stderr)
    model, est, (Xtr, ytr), val, seconds = _fit(args, split, out, steps)
    y_pred = np.asarray(model.predict(split.X_test)).astype(int)
    metrics = {"train_accuracy": float(model.score(Xtr, ytr)),
               "validation_accuracy": float(model.score(*val)) if val is not None else None,
               "test_accuracy": float(np.mean(y_pred == split.y_test)),
               "epochs": len(est.history_), "seconds": round(seconds, 3),
               "interrupted": est.history_.interrupted, "stopped_early": est.history_.stopped_early}
    io.save(model, out / "model.safetensors")
    est.history_.save(out / "history.json")
    config = {"chainrule": __version__, "python": platform.python_version(), "numpy": np.__version__,
              "command": ["chainrule", *sys.argv[1:]] if sys.argv else None,
              "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items() if k != "run"},
              "dataset": {"name": split.name, "kind": split.kind, "image_shape": split.image_shape,
                          "pixel_max": split.pixel_max, "class_names": list(split.class_names),
                          "n_train": len(ytr), "n_validation": len(val[1]) if val else 0, "n_test": len(split.y_test)},
              "metrics": metrics}
    atomic_write_text(out / "config.json", json.dumps(config, indent=1))
    pictures = _pictures(args, split, model, est, out, y_pred)
    val_text = f"  validation {metrics['validation_accuracy']:.4f}" if val is not None else ""
    print(f"accuracy: train {metrics['train_accuracy']:.4f}{val_text}  test {metrics['test_accuracy']:.4f}")
    if est.history_.interrupted:
        print(f"interrupted after {len(est.history_)} complete epochs; the model trained so far is saved")
    print(f"model, config and history in {out}/ (model.safetensors, config.json, history.json)")
    print(f"pictures in {out}/: {', '.join(pictures)}")
    return 0
