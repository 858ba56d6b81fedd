"""chainrule export --onnx RUN_DIR: the run's model (preprocessing included) as an ONNX file."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .. import io
from ..io.safe import read_json
from ._parser import UsageError
from ._types import PathArg


def add_parser(sub):
    p = sub.add_parser("export", help="write a trained model as an ONNX file (for runtimes without Python)",
                       description="Export RUN_DIR/model.safetensors (written by chainrule train or chainrule sweep), "
                                   "its preprocessing included, as an ONNX file (opset 17). Needs the onnx "
                                   "package: pip install 'chainrule[onnx]'. With onnxruntime installed, the file "
                                   "is run once against chainrule's own predictions.")
    p.add_argument("--onnx", required=True, type=PathArg("run"), metavar="RUN_DIR",
                   help="a folder holding model.safetensors (or a model file)")
    p.add_argument("--out", type=PathArg("out_file"), default=None,
                   help="the ONNX file to write (default: RUN_DIR/model.onnx)")
    p.set_defaults(run=run)
    return p


def _sample_inputs(model, config, n=64):
    """n random raw samples of the model's input shape and range (seeded), as float32."""
    from ..io.export import steps

    first = model.steps[0][1] if hasattr(model, "steps") else model
    shape = steps.sample_shape(first)
    rng = np.random.default_rng(0)
    ds = config.get("dataset") if isinstance(config, dict) else None
    top = ds.get("pixel_max") if isinstance(ds, dict) else None
    top = float(top) if isinstance(top, (int, float)) and not isinstance(top, bool) and 0 < top < 1e6 else 0.0
    X = rng.uniform(0, top, (n, *shape)) if top > 0 else rng.standard_normal((n, *shape))
    return X.astype(np.float32)


def _compare(path, model, config) -> str:
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed: the file was checked with onnx.checker but not run"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = _sample_inputs(model, config)
    dtype = np.float64 if session.get_inputs()[0].type == "tensor(double)" else np.float32
    out = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": X.astype(dtype)})))
    if "probabilities" in out:
        diff = np.abs(out["probabilities"] - model.predict_proba(X)).max()
        what = "probabilities"
    elif "predictions" in out:
        diff = np.abs(out["predictions"] - model.predict(X)).max()
        what = "predictions"
    else:
        return "run in onnxruntime"
    same = np.array_equal(out["label"], np.asarray(model.predict(X))) if "label" in out else True
    return (f"run in onnxruntime on {len(X)} random inputs: largest difference in {what} {diff:.1e}"
            + ("" if "label" not in out else f", labels {'identical' if same else 'DIFFERENT'}"))


def run(args) -> int:
    given = Path(args.onnx)
    model_file = given / "model.safetensors" if given.is_dir() else given    # a run folder or its model file
    folder = model_file.parent
    if args.out is not None and Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: expected the ONNX file to write; got a folder")
    from ..io.export import OPSET

    model = io.load(model_file)
    config = None
    if os.path.lexists(folder / "config.json"):
        try:
            config = read_json(folder / "config.json", "config", root=folder)
        except (OSError, ValueError):     # refused or damaged: it only sets the range of the check's inputs
            config = None
    path = Path(args.out) if args.out else folder / "model.onnx"
    try:
        proto = io.export_onnx(model, path)
    except (ImportError, NotImplementedError) as exc:      # no onnx package; a model with no ONNX form
        print(f"chainrule export: {exc}", file=sys.stderr)
        return 1
    graph = proto.graph
    inputs = ", ".join(f"{v.name} {[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]}"
                       for v in graph.input)
    print(f"wrote {path} (ONNX opset {OPSET}, checked with onnx.checker full_check)")
    print(f"input: {inputs} raw samples; outputs: {', '.join(v.name for v in graph.output)}")
    print(_compare(path, model, config))
    return 0
