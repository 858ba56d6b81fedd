"""ONNX export: a chainrule network, a fitted estimator, or a scikit-learn Pipeline of
preprocessing ending in one, as an ONNX file that onnxruntime (or any ONNX runtime) serves
without Python or chainrule.

The graph is built with the ``onnx`` package's own helpers at opset 17 (``graph.OPSET``, IR
version 8) and checked with ``onnx.checker.check_model(full_check=True)`` before it is written
(atomically). Networks are read through ``Module.spec()`` and ``state_dict()``, each layer type
declaring its own nodes (``Module.onnx_nodes``, gathered by ``layers.emit``); preprocessing
through the fitted steps' attributes, one row per class (``steps.STEPS``). What the file computes:

- input ``input``: a batch of raw samples, shape (N, ...) with the sample shape, float32 (float64 when the
  network is float64), exactly what ``predict`` takes (a bare image network: (N, C, H, W)); an
  estimator's own input rule (a CNN's images or flat rows with ``image_shape``) is exported as the
  Reshape or Gather that ``inputs.network_input`` reads off the estimator;
- classifiers: ``label`` (as ``predict``: the class labels), ``scores`` (the network's scores, as
  ``decision_function`` before any reshaping) and, for the probabilistic losses,
  ``probabilities`` (as ``predict_proba``);
- regressors: ``predictions`` (as ``predict``); a bare network: ``output``.

Exported: linear models, MLPs (dropout and batch norm in evaluation form), convolutional and
residual networks (Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten, BatchNorm2d, Residual
with stochastic depth in evaluation form), chainrule's ScaleToUnit, Standardize,
SubtractMeanImage and Flatten and scikit-learn's StandardScaler and MinMaxScaler in a Pipeline.
Not exported: PolynomialRegression and feature steps (PolynomialFeatures, HOG, NotesTransform).
"""
from __future__ import annotations

import json

import numpy as np

from .graph import IR_VERSION, OPSET, Graph
from .inputs import first_image_layer, module_input_shape, network_input
from .steps import STEPS, classifier_head, emit_step, regressor_head, sample_shape

#: estimators whose inputs pass through features computed inside the estimator (not exported yet)
_NOT_EXPORTABLE = {"PolynomialRegression": "its polynomial features are computed inside the estimator"}


def _network(g, module, x, dtype):
    spec, state = module.spec(), module.state_dict()
    net_dtype = np.dtype(module.dtype or np.float32)
    if np.dtype(dtype) != net_dtype:
        x = g.cast(x, net_dtype, "network_input")
    return g.emit(spec, state, x), net_dtype


def to_onnx(model, *, input_shape=None):
    """The ONNX graph of ``model``, built in memory and checked, not written.

    One graph node (or a few) per layer and per preprocessing step, so the file computes what
    ``predict`` computes on raw samples (the module docstring lists the inputs and outputs).

    Parameters
    ----------
    model : Module, estimator or Pipeline
        A chainrule network, a fitted chainrule estimator, or a scikit-learn Pipeline of
        exportable preprocessing (``STEPS``) ending in one.
    input_shape : tuple of int, optional
        The shape of one raw sample: needed for a bare image network ((C, H, W): its first
        Conv2d fixes C but not H and W) and for an estimator that does not record its sample
        shape (``sample_shape_``, else ``n_features_in_`` is taken as (D,)).

    Returns
    -------
    onnx.ModelProto
        The model at opset ``OPSET``, passed by ``onnx.checker.check_model(full_check=True)``.

    Raises
    ------
    ValueError
        If ``input_shape`` is needed and not given.
    TypeError
        If ``model`` is not a network, a fitted chainrule estimator or a Pipeline ending in one.
    NotImplementedError
        If the estimator, a step or a layer has no ONNX form here (PolynomialRegression,
        feature steps).
    """
    from ...core.module import Module

    if isinstance(model, Module):
        spec = model.spec()
        shape = tuple(int(d) for d in input_shape) if input_shape is not None else module_input_shape(spec)
        if shape is None:
            image = first_image_layer(spec)
            raise ValueError("input_shape must be given for a network that does not start with a Linear layer"
                             + (f"; this one starts with {image}: input_shape=(C, H, W), one image" if image else ""))
        g = Graph("chainrule_network")
        dtype = np.dtype(model.dtype or np.float32)
        x = g.add_input("input", dtype, ["N", *shape])
        out, net_dtype = _network(g, model, x, dtype)
        g.add_output(out, "output", net_dtype, ["N", *model.output_shape((1, *shape))[1:]])
        return g.model("chainrule network: output = network(input)", {"chainrule.kind": "network"})
    steps = list(getattr(model, "steps", [])) or [("model", model)]
    est = steps[-1][1]
    name = type(est).__name__
    if name in _NOT_EXPORTABLE:
        raise NotImplementedError(f"ONNX export of {name} is not supported: {_NOT_EXPORTABLE[name]}")
    module = getattr(est, "model_", None)
    if not isinstance(module, Module):
        raise TypeError(f"export_onnx takes a chainrule network, a fitted chainrule estimator or a Pipeline "
                        f"ending in one; got {name}" + (" that is not fitted" if hasattr(est, "fit") else ""))
    unsupported = [type(step).__name__ for _, step in steps[:-1] if type(step).__name__ not in STEPS]
    if unsupported:
        raise NotImplementedError(f"ONNX export of a {unsupported[0]} step is not supported; exportable "
                                  f"preprocessing: {', '.join(STEPS)}")
    first = steps[0][1]
    shape = tuple(int(d) for d in input_shape) if input_shape is not None else sample_shape(first)
    est_shape = shape if len(steps) == 1 else sample_shape(est)
    net_dtype = np.dtype(module.dtype or np.float32)
    in_dtype = np.float64 if net_dtype == np.float64 else np.float32
    g = Graph(f"chainrule_{name}")
    x = g.add_input("input", in_dtype, ["N", *shape])
    dtype = in_dtype
    for _, step in steps[:-1]:
        x, dtype = emit_step(g, step, x, dtype)
    x, net_shape = network_input(g, est, x, est_shape)
    scores, net_dtype = _network(g, module, x, dtype)
    n_out = int(module.output_shape((1, *net_shape))[-1])
    classifier = hasattr(est, "classes_")
    head = classifier_head if classifier else regressor_head
    for out_name, tensor, out_dtype, out_shape in head(g, est, scores, n_out, net_dtype):
        g.add_output(tensor, out_name, out_dtype, out_shape)
    metadata = {"chainrule.kind": "classifier" if classifier else "regressor", "chainrule.estimator": name,
                "chainrule.steps": json.dumps([n for n, _ in steps[:-1]])}
    if classifier:
        metadata["chainrule.classes"] = json.dumps(np.asarray(est.classes_).tolist())
    doc = (f"chainrule {name}" + (f" with preprocessing {[n for n, _ in steps[:-1]]}" if len(steps) > 1 else "")
           + f"; input (N, {', '.join(map(str, shape))}) raw samples; outputs: "
           + ", ".join(o.name for o in g.outputs))
    return g.model(doc, metadata)


def export_onnx(model, path, *, input_shape=None):
    """Write ``model`` as an ONNX file, so a runtime without Python or chainrule can serve it.

    The graph is ``to_onnx``'s; the file is written atomically (an interrupted export leaves no
    half file). Needs the ``onnx`` package (``pip install 'chainrule[onnx]'``); onnxruntime runs
    the file.

    Parameters
    ----------
    model : Module, estimator or Pipeline
        A chainrule network, a fitted chainrule estimator, or a scikit-learn Pipeline of
        exportable preprocessing ending in one.
    path : str or path-like
        The ``.onnx`` file to write.
    input_shape : tuple of int, optional
        The shape of one raw sample, when the model does not say it itself (see ``to_onnx``).

    Returns
    -------
    onnx.ModelProto
        The model written.

    Raises
    ------
    ImportError
        If the onnx package is not installed.
    ValueError, TypeError, NotImplementedError
        As ``to_onnx``.
    """
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'chainrule[onnx]'") from None
    from ..atomic import atomic_write_bytes

    proto = to_onnx(model, input_shape=input_shape)
    atomic_write_bytes(path, proto.SerializeToString())
    return proto


__all__ = ["export_onnx", "to_onnx", "OPSET", "IR_VERSION", "STEPS"]
