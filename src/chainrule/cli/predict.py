"""chainrule predict RUN FILE...: the class of each sample in .npy arrays or image files.

A file whose contents cannot be used (not an array or an image, empty, not finite, the wrong
shape, an image too large to decode safely) is one plain error naming it, exit code 1."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ._errors import FileProblem, UsageError, one_line
from ._runfile import open_run
from ._types import Number, PathArg

# Images above this many pixels are refused from their header, before decoding: a 64 x 64 digit
# needs nothing near it, and a decompression bomb (a small PNG announcing 20,000 x 20,000
# pixels) would otherwise take gigabytes. Below Pillow's own warning threshold (89 million).
MAX_PIXELS = 40_000_000


def add_parser(sub):
    p = sub.add_parser("predict", help="predict the class of samples in .npy files or image files",
                       description="Predict with RUN (a folder written by chainrule train, or a model file). FILE is "
                                   "a .npy array (one sample or a batch, raw values as in the data set) or an image "
                                   "file (PNG, JPEG...), converted to the model's image size and grey levels.")
    p.add_argument("dir", metavar="RUN", type=PathArg("run"),
                   help="a folder written by chainrule train, or a model file (.safetensors)")
    p.add_argument("files", nargs="+", metavar="FILE", type=PathArg("in_file"), help=".npy arrays or image files")
    p.add_argument("--invert", default="auto", choices=("auto", "yes", "no"),
                   help="invert image files (MNIST digits are light on dark); auto inverts light backgrounds")
    p.add_argument("--top", type=Number(int, 1, 1000), default=3,
                   help="how many classes to list per sample, with their probabilities")
    p.set_defaults(run=run)


def read_image(path, shape, pixel_max, invert) -> np.ndarray:
    """An image file as one sample of ``shape``, values in [0, pixel_max]."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise FileProblem(f"{path}: {w:,} x {h:,} pixels is more than {MAX_PIXELS:,}; refused before "
                                      "decoding (a decompression bomb?)")
                colour = len(shape) == 3
                img = img.convert("RGB" if colour else "L").resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileProblem(f"{path}: refused before decoding: {one_line(exc)}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise FileProblem(f"{path}: not a readable image ({one_line(exc)})") from None
    arr = np.asarray(img, dtype=np.float64) / 255.0
    if invert == "yes" or (invert == "auto" and not colour and np.concatenate(
            [arr[0], arr[-1], arr[:, 0], arr[:, -1]]).mean() > 0.5):
        arr = 1.0 - arr
    return arr * pixel_max


def read_array(path: Path, run) -> np.ndarray:
    """A .npy file as a batch the model takes: images of run.image_shape (one, a batch, or flat
    rows), or rows of run.n_inputs numbers."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FileProblem(f"{path}: not a plain numeric .npy array ({one_line(exc)})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "uif":
        raise FileProblem(f"{path}: expected an array of numbers; got dtype {getattr(arr, 'dtype', type(arr))}")
    if arr.size == 0:
        raise FileProblem(f"{path}: the array is empty (shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise FileProblem(f"{path}: the array contains NaN or infinity")
    if run.kind == "rows":
        arr = np.atleast_2d(arr)
        if arr.ndim != 2 or (run.n_inputs is not None and arr.shape[1] != run.n_inputs):
            raise FileProblem(f"{path}: the model takes rows of {run.n_inputs} numbers (N, {run.n_inputs}); "
                              f"got shape {arr.shape}")
        return arr
    shape = tuple(run.image_shape)
    size = int(np.prod(shape))
    if arr.shape == shape:
        return arr[None]
    if arr.ndim == 2 and arr.shape[1] == size:
        return arr.reshape((-1,) + shape)
    if arr.shape[1:] != shape:
        raise FileProblem(f"{path}: the model takes images of shape {shape} (one, a batch, or flat rows of {size}); "
                          f"got shape {arr.shape}")
    return arr


def _samples(path: Path, run, invert):
    if path.suffix.lower() == ".npy":
        arr = read_array(path, run)
        return arr, [f"{path.name}[{i}]" for i in range(len(arr))]
    if run.kind != "image":
        raise UsageError(f"{path}: this model takes rows of {run.n_inputs} numbers; give a .npy array, not an image")
    if run.image_shape is None:
        raise UsageError(f"{path}: the model file does not say its image size; give the run folder or a .npy array")
    return read_image(path, run.image_shape, run.pixel_max, invert)[None], [path.name]


def run(args) -> int:
    given = getattr(args, "given", set())
    files = [Path(f) for f in args.files]
    if "invert" in given and all(f.suffix.lower() == ".npy" for f in files):
        raise UsageError("--invert has no effect: it applies to image files, and every FILE is a .npy array")
    model_run = open_run(args.dir)
    batches = [(f, *_samples(f, model_run, args.invert)) for f in files]   # every file checked before any output
    model = model_run.load_model()
    has_proba = hasattr(model, "predict_proba")       # not for the hinge loss: scores, no probabilities
    if "top" in given and not has_proba:
        raise UsageError("--top has no effect: this model (hinge loss) gives scores, not probabilities")
    names = model_run.class_names
    for f, X, labels in batches:
        try:
            pred = np.asarray(model.predict(X)).astype(int)
            proba = model.predict_proba(X) if has_proba else None
        except ValueError as exc:
            raise FileProblem(f"{f}: the model cannot take these samples ({one_line(exc)})") from None
        for i, label in enumerate(labels):
            line = f"{label}: {names[pred[i]] if 0 <= pred[i] < len(names) else pred[i]}"
            if proba is not None:
                top = np.argsort(-proba[i])[: min(args.top, proba.shape[1])]
                line += "   (" + ", ".join(f"{names[k] if k < len(names) else k} {proba[i, k]:.3f}" for k in top) + ")"
            print(line)
    return 0
