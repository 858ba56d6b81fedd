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
    p.add_argument("--max-input-mb", type=Number(float, 0, 1e6, low_open=True), default=None,
                   help="largest FILE to read, in MB (10^6 bytes), for .npy data and image files alike (default: "
                        "$CHAINRULE_MAX_ARRAY_BYTES or 1 GiB for .npy, $CHAINRULE_MAX_IMAGE_BYTES or 256 MiB for images)")
    p.set_defaults(run=run)


def _resized(img, shape, path) -> np.ndarray:
    """A decoded image resized to ``shape`` (bilinear), as float in [0, 1], each image scaled by its
    own depth: 8-bit modes by 255 (converted to 'L' or 'RGB' first), 16-bit modes ('I;16...', and
    'I' from a PNG, whose samples are at most 16 bits) by 65535, resized in floating point so that
    no level is lost or clipped. 32-bit integer and floating-point images are refused by name:
    their range is not known."""
    from PIL import Image

    colour, size = len(shape) == 3, (shape[1], shape[0])
    mode = img.mode
    if mode.startswith("I;16") or (mode == "I" and img.format == "PNG"):
        grey = np.asarray(img, dtype=np.float64)
        if grey.max(initial=0) > 65535 or grey.min(initial=0) < 0:
            raise FileProblem(f"{path}: a 16-bit image with samples outside 0..65535; refusing it")
        small = np.asarray(Image.fromarray((grey / 65535.0).astype(np.float32), "F")
                           .resize(size, Image.Resampling.BILINEAR), dtype=np.float64)
        small = np.clip(small, 0.0, 1.0)                 # bilinear stays in range; float rounding may not
        return np.repeat(small[..., None], 3, axis=-1) if colour else small
    if mode in ("I", "F"):
        raise FileProblem(f"{path}: {'32-bit integer' if mode == 'I' else 'floating-point'} images have no known "
                          "range to scale by; convert it to an 8- or 16-bit PNG, or give a .npy array")
    small = img.convert("RGB" if colour else "L").resize(size, Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float64) / 255.0


def read_image(path, shape, pixel_max, invert, max_bytes=None) -> np.ndarray:
    """An image file as one sample of ``shape``, values in [0, pixel_max] (``_resized``). The file
    is opened by ``io.safe.open_regular`` (a regular file of at most ``max_bytes``)."""
    from PIL import Image, UnidentifiedImageError

    from ..io.safe import UnsafeFileError, cap, open_regular

    limit = cap("image") if max_bytes is None else max_bytes
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_regular(path, max_size=limit) as f, Image.open(f) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise FileProblem(f"{path}: {w:,} x {h:,} pixels is more than {MAX_PIXELS:,}; refused before "
                                      "decoding (a decompression bomb?)")
                arr = _resized(img, shape, path)
    except UnsafeFileError as exc:
        raise FileProblem(f"{path} is refused: {exc.reason}{_raise_hint(exc, 'image')}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileProblem(f"{path}: refused before decoding: {one_line(exc)}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise FileProblem(f"{path}: not a readable image ({one_line(exc)})") from None
    if invert == "yes" or (invert == "auto" and len(shape) == 2 and np.concatenate(
            [arr[0], arr[-1], arr[:, 0], arr[:, -1]]).mean() > 0.5):
        arr = 1.0 - arr
    return arr * pixel_max


def _raise_hint(exc, kind: str) -> str:
    from ..io.safe import FileTooLarge, env_name

    if not isinstance(exc, FileTooLarge):
        return ""
    return f" (if the file is genuine, raise the limit with --max-input-mb or {env_name(kind)})"


def read_array(path: Path, run, max_bytes=None) -> np.ndarray:
    """A .npy file as a batch the model takes: images of run.image_shape (one, a batch, or flat
    rows), or rows of run.n_inputs numbers. Read by ``io.safe_arrays.load_npy_capped``: its header
    is checked against the cap and the file's size before anything is allocated."""
    from ..io.safe import UnsafeFileError, cap
    from ..io.safe_arrays import load_npy_capped

    try:
        arr = load_npy_capped(path, cap("array") if max_bytes is None else max_bytes)
    except UnsafeFileError as exc:
        raise FileProblem(f"{path} is refused: {exc.reason}{_raise_hint(exc, 'array')}") from None
    except OSError as exc:
        raise FileProblem(f"{path}: cannot be read ({one_line(exc.strerror or exc)})") from None
    if arr.dtype.kind not in "uif":
        raise FileProblem(f"{path}: expected an array of numbers; got dtype {arr.dtype}")
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


def _samples(path: Path, run, invert, max_bytes=None):
    if path.suffix.lower() == ".npy":
        arr = read_array(path, run, max_bytes)
        return arr, [f"{path.name}[{i}]" for i in range(len(arr))]
    if run.kind != "image":
        raise UsageError(f"{path}: this model takes rows of {run.n_inputs} numbers; give a .npy array, not an image")
    if run.image_shape is None:
        raise UsageError(f"{path}: the model file does not say its image size; give the run folder or a .npy array")
    return read_image(path, run.image_shape, run.pixel_max, invert, max_bytes)[None], [path.name]


def run(args) -> int:
    given = getattr(args, "given", set())
    files = [Path(f) for f in args.files]
    if "invert" in given and all(f.suffix.lower() == ".npy" for f in files):
        raise UsageError("--invert has no effect: it applies to image files, and every FILE is a .npy array")
    model_run = open_run(args.dir)
    max_bytes = None if args.max_input_mb is None else int(args.max_input_mb * 1e6)
    batches = [(f, *_samples(f, model_run, args.invert, max_bytes)) for f in files]   # all checked before any output
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
