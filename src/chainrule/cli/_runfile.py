"""Reading what ``chainrule train`` leaves: a run folder (model.safetensors and config.json) or a
model file alone, checked so that a damaged or incomplete config.json is one plain error naming
the file (exit code 1) instead of a JSONDecodeError or a KeyError."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data
from ._errors import FileProblem, UsageError, one_line


@dataclass
class Run:
    """A trained model and what the commands need to know about its inputs.

    ``kind`` is 'image' (``image_shape`` (H, W) or (H, W, 3), raw values up to ``pixel_max``) or
    'rows' (``n_inputs`` numbers per sample, e.g. the point sets' two coordinates).
    ``dataset`` is None when only a model file was given, with no config.json beside it.
    The model itself is read by ``load_model()``, after the cheap checks of the arguments."""

    model_path: Path
    config_path: Path | None
    dataset: str | None
    kind: str
    image_shape: tuple | None
    n_inputs: int | None
    pixel_max: float
    class_names: list
    data_dir: str | None
    seed: int
    model: object = None

    def load_model(self):
        from .. import io

        if self.model is None:
            model = io.load(self.model_path)
            classes = getattr(final_step(model), "classes_", None)
            if classes is not None and len(classes) > len(self.class_names):
                raise FileProblem(f"{self.config_path}: names {len(self.class_names)} classes but {self.model_path} "
                                  f"predicts {len(classes)}")
            self.model = model
        return self.model


def _fail(config_path, what: str):
    raise FileProblem(f"{config_path}: {what} (a damaged or incomplete run folder; train again to rewrite it)")


def read_config(config_path: Path) -> dict:
    """config.json checked for every key evaluate and predict read; returns the fields of ``Run``."""
    from ..io.safe import UnsafeFileError, read_json

    try:
        config = read_json(config_path, "config", root=config_path.parent)
    except UnsafeFileError as exc:
        _fail(config_path, f"refused: {exc.reason}")
    except OSError as exc:
        raise FileProblem(f"{config_path}: cannot be read ({one_line(exc.strerror or exc)})") from None
    if not isinstance(config, dict):
        _fail(config_path, f"expected a JSON object; got {type(config).__name__}")
    ds, settings = config.get("dataset"), config.get("settings", {})
    if not isinstance(ds, dict):
        _fail(config_path, "has no 'dataset' entry" if ds is None else "'dataset' must be an object")
    if not isinstance(settings, dict):
        _fail(config_path, "'settings' must be an object")
    name = ds.get("name")
    if name not in data.ALL:
        _fail(config_path, f"dataset.name must be one of {', '.join(data.ALL)}; got {name!r}")
    kind = ds.get("kind")
    if kind not in ("image", "points"):
        _fail(config_path, f"dataset.kind must be 'image' or 'points'; got {kind!r}")
    shape = ds.get("image_shape")
    if kind == "image":
        if not (isinstance(shape, list) and len(shape) in (2, 3)
                and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 4096 for v in shape)):
            _fail(config_path, f"dataset.image_shape must be a list like [28, 28]; got {shape!r}")
        shape = tuple(shape)
    else:
        shape = None
    pixel_max = ds.get("pixel_max", 1.0)
    if not (isinstance(pixel_max, (int, float)) and not isinstance(pixel_max, bool)
            and math.isfinite(pixel_max) and pixel_max > 0):
        _fail(config_path, f"dataset.pixel_max must be a number > 0; got {pixel_max!r}")
    names = ds.get("class_names")
    if not (isinstance(names, list) and names and all(isinstance(c, (str, int)) and not isinstance(c, bool)
                                                      for c in names)):
        _fail(config_path, f"dataset.class_names must be a non-empty list of names; got {names!r}")
    data_dir = settings.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        _fail(config_path, f"settings.data_dir must be a path or null; got {data_dir!r}")
    seed = settings.get("seed", 0)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        _fail(config_path, f"settings.seed must be an integer >= 0; got {seed!r}")
    return dict(dataset=name, kind="image" if kind == "image" else "rows", image_shape=shape,
                n_inputs=2 if kind == "points" else None, pixel_max=float(pixel_max),
                class_names=[str(c) for c in names], data_dir=data_dir, seed=seed)


def final_step(model):
    return model.steps[-1][1] if hasattr(model, "steps") else model


def describe_model(model) -> dict:
    """What a model file alone says about its inputs: the first preprocessing step records the
    sample shape it was fitted on; ScaleToUnit its pixel scale (else 255); the estimator its
    classes."""
    steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
    first = steps[0]
    shape = getattr(first, "sample_shape_", None)
    if shape is None:
        shape = getattr(first, "image_shape_", None)
    shape = tuple(int(v) for v in shape) if shape is not None else None
    scale = next((float(np.ravel(s.scale_)[0]) for s in steps                # a model file gives it shape (1,)
                  if type(s).__name__ == "ScaleToUnit" and hasattr(s, "scale_")), 255.0)
    classes = getattr(final_step(model), "classes_", None)
    n_inputs = getattr(first, "n_features_in_", None)
    image = shape is not None and len(shape) in (2, 3)
    return dict(dataset=None, kind="image" if image else "rows", image_shape=shape if image else None,
                n_inputs=None if image else n_inputs, pixel_max=scale,
                class_names=[str(c) for c in classes] if classes is not None else [], data_dir=None, seed=0)


def open_run(path: Path) -> Run:
    """A run folder (model.safetensors and config.json) or a model file (with the config.json
    beside it when there is one). With a config.json, the model is read later, by load_model."""
    path = Path(path)
    if path.is_dir():
        config_path, model_path = path / "config.json", path / "model.safetensors"
        if not config_path.exists():
            raise UsageError(f"{path} has no config.json: it is not a folder written by chainrule train")
    else:
        config_path, model_path = path.parent / "config.json", path
    if config_path.exists():
        run = Run(model_path, config_path, **read_config(config_path))
        if not model_path.exists():      # said before reading any model code (what io.load would say)
            raise FileProblem(f"{model_path}: no such model file")
        return run
    from .. import io

    model = io.load(model_path)
    return Run(model_path, None, **describe_model(model), model=model)
