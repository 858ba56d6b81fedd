"""chainrule evaluate DIR and chainrule predict DIR FILE..."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import io
from ..training.metrics import confusion_matrix
from . import data
from ._parser import UsageError


def add_parsers(sub):
    e = sub.add_parser("evaluate", help="accuracy and confusion matrix of a trained model on a test set",
                       description="Load DIR/model.safetensors and evaluate it on the test split of its data set "
                                   "(or of --dataset).")
    e.add_argument("dir", help="a folder written by chainrule train")
    e.add_argument("--dataset", default=None, choices=data.ALL, help="data set (default: the one it was trained on)")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--no-download", action="store_true")
    e.set_defaults(run=run_evaluate)
    p = sub.add_parser("predict", help="predict the class of samples in .npy files or image files",
                       description="Predict with DIR/model.safetensors. FILE is a .npy array (one sample or a batch, "
                                   "raw pixel values as in the data set) or an image file (PNG, JPEG...), which is "
                                   "converted to the model's image size and grey levels.")
    p.add_argument("dir", help="a folder written by chainrule train")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--invert", default="auto", choices=("auto", "yes", "no"),
                   help="invert image files (MNIST digits are light on dark); auto inverts light backgrounds")
    p.add_argument("--top", type=int, default=3, help="how many classes to list per sample")
    p.set_defaults(run=run_predict)


def _load_run(folder):
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder written by chainrule train")
    config_path = folder / "config.json"
    if not config_path.exists():
        raise UsageError(f"{folder} has no config.json; is it a folder written by chainrule train?")
    config = json.loads(config_path.read_text())
    return io.load(folder / "model.safetensors"), config


def run_evaluate(args) -> int:
    model, config = _load_run(args.dir)
    settings = config["settings"]
    name = args.dataset or config["dataset"]["name"]
    split = data.load(name, args.data_dir or settings.get("data_dir"), download=not args.no_download,
                      seed=settings.get("seed", 0))
    y_pred = np.asarray(model.predict(split.X_test)).astype(int)
    acc = float(np.mean(y_pred == split.y_test))
    cm = confusion_matrix(split.y_test, y_pred, len(split.class_names))
    print(f"{name} test set: {len(split.y_test):,} samples, accuracy {acc:.4f} ({int((y_pred == split.y_test).sum())} correct)")
    width = max(5, max(len(str(c)) for c in split.class_names) + 1)
    print("confusion matrix (rows: true class, columns: predicted):")
    print(" " * width + "".join(f"{str(c):>{width}}" for c in split.class_names))
    for c, row in zip(split.class_names, cm):
        print(f"{str(c):>{width}}" + "".join(f"{v:>{width}d}" for v in row))
    per_class = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    worst = int(np.argmin(per_class))
    print(f"hardest class: {split.class_names[worst]} ({per_class[worst]:.3f} correct)")
    return 0


def _read_image(path, shape, pixel_max, invert):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise UsageError(f"{path}: not a readable image ({exc})") from None
    colour = len(shape) == 3
    img = img.convert("RGB" if colour else "L").resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float64) / 255.0
    if invert == "yes" or (invert == "auto" and not colour and np.concatenate(
            [arr[0], arr[-1], arr[:, 0], arr[:, -1]]).mean() > 0.5):
        arr = 1.0 - arr
    return arr * pixel_max


def _samples(path, config, invert):
    path = Path(path)
    ds = config["dataset"]
    shape = tuple(ds["image_shape"]) if ds["image_shape"] else None
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise UsageError(f"{path}: not a plain numeric .npy array ({exc})") from None
        if arr.dtype.kind not in "uif":
            raise UsageError(f"{path}: expected numbers; got dtype {arr.dtype}")
        if shape is None:
            arr = np.atleast_2d(arr)
            if arr.shape[1] != 2:
                raise UsageError(f"{path}: the model takes points (N, 2); got shape {arr.shape}")
            return arr, [f"{path.name}[{i}]" for i in range(len(arr))]
        size = int(np.prod(shape))
        if arr.shape == shape:
            arr = arr[None]
        elif arr.ndim == 2 and arr.shape[1] == size:
            arr = arr.reshape((-1,) + shape)
        elif arr.shape[1:] != shape:
            raise UsageError(f"{path}: the model takes images of shape {shape} (one, a batch, or flat rows of {size}); "
                             f"got shape {arr.shape}")
        return arr, [f"{path.name}[{i}]" for i in range(len(arr))]
    if shape is None:
        raise UsageError(f"{path}: this model takes points; give a .npy array of shape (N, 2)")
    return _read_image(path, shape, ds["pixel_max"], invert)[None], [path.name]


def run_predict(args) -> int:
    model, config = _load_run(args.dir)
    names = config["dataset"]["class_names"]
    for f in args.files:
        X, labels = _samples(f, config, args.invert)
        pred = np.asarray(model.predict(X)).astype(int)
        proba = model.predict_proba(X) if hasattr(model, "predict_proba") else None
        for i, label in enumerate(labels):
            line = f"{label}: {names[pred[i]]}"
            if proba is not None:
                top = np.argsort(-proba[i])[: max(1, args.top)]
                line += "   (" + ", ".join(f"{names[k]} {proba[i, k]:.3f}" for k in top) + ")"
            print(line)
    return 0
