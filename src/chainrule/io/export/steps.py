"""An estimator's preprocessing and its outputs as ONNX nodes.

``STEPS`` has one row per preprocessing class a Pipeline may hold before a chainrule estimator:
``row(graph, step, x, dtype) -> (output, dtype)``. chainrule's own steps compute in float64 and
return float32, as their ``transform`` does; scikit-learn's scalers keep the input's dtype.
``head`` turns the network's scores into what the estimator's ``predict`` (and
``predict_proba``) return.
"""
from __future__ import annotations

import numpy as np


def _as_double(g, x, dtype, hint):
    return (x if np.dtype(dtype) == np.float64 else g.cast(x, np.float64, hint)), np.float64


def _scale_to_unit(g, step, x, dtype):
    """x / scale_ (float64), as float32."""
    x, _ = _as_double(g, x, dtype, "scale_in")
    y = g.node("Div", [x, g.const(np.asarray(step.scale_, np.float64), "scale_to_unit_scale")], "scale_to_unit")
    return g.cast(y, np.float32, "scaled"), np.float32


def _standardize(g, step, x, dtype):
    """(x - mean_) / scale_ per feature (float64), as float32."""
    x, _ = _as_double(g, x, dtype, "standardize_in")
    c = g.node("Sub", [x, g.const(np.asarray(step.mean_, np.float64), "standardize_mean")], "centred")
    y = g.node("Div", [c, g.const(np.asarray(step.scale_, np.float64), "standardize_scale")], "standardized")
    return g.cast(y, np.float32, "standardized_f32"), np.float32


def _subtract_mean_image(g, step, x, dtype):
    """x - mean_ (the mean training image, float64), as float32."""
    x, _ = _as_double(g, x, dtype, "centre_in")
    y = g.node("Sub", [x, g.const(np.asarray(step.mean_, np.float64), "mean_image")], "centred_image")
    return g.cast(y, np.float32, "centred_image_f32"), np.float32


def _flatten(g, step, x, dtype):
    """(N, H, W[, C]) -> (N, H*W*C) in C order."""
    return g.node("Flatten", [x], "flat", axis=1), dtype


def _standard_scaler(g, step, x, dtype):
    """scikit-learn's StandardScaler: (x - mean_) / scale_, in the input's dtype."""
    if getattr(step, "mean_", None) is not None and step.with_mean:
        x = g.node("Sub", [x, g.const(np.asarray(step.mean_, dtype), "scaler_mean")], "scaler_centred")
    if getattr(step, "scale_", None) is not None and step.with_std:
        x = g.node("Div", [x, g.const(np.asarray(step.scale_, dtype), "scaler_scale")], "scaler_scaled")
    return x, dtype


def _min_max_scaler(g, step, x, dtype):
    """scikit-learn's MinMaxScaler: x * scale_ + min_ (then clipped to feature_range if clip)."""
    x = g.node("Mul", [x, g.const(np.asarray(step.scale_, dtype), "minmax_scale")], "minmax_scaled")
    x = g.node("Add", [x, g.const(np.asarray(step.min_, dtype), "minmax_min")], "minmax")
    if getattr(step, "clip", False):
        low, high = step.feature_range
        x = g.node("Clip", [x, g.const(np.asarray(low, dtype), "clip_low"), g.const(np.asarray(high, dtype),
                                                                                     "clip_high")], "minmax_clipped")
    return x, dtype


STEPS = {
    "ScaleToUnit": _scale_to_unit,
    "Standardize": _standardize,
    "SubtractMeanImage": _subtract_mean_image,
    "Flatten": _flatten,
    "StandardScaler": _standard_scaler,
    "MinMaxScaler": _min_max_scaler,
}


def emit_step(g, step, x, dtype):
    name = type(step).__name__
    row = STEPS.get(name)
    if row is None:
        raise NotImplementedError(f"ONNX export of a {name} step is not supported; exportable preprocessing: "
                                  f"{', '.join(STEPS)}")
    return row(g, step, x, dtype)


def sample_shape(step) -> tuple:
    """The shape of one input sample a fitted step (or estimator) expects."""
    if hasattr(step, "sample_shape_"):
        return tuple(int(v) for v in np.asarray(step.sample_shape_).ravel())
    if hasattr(step, "n_features_in_"):
        return (int(step.n_features_in_),)
    raise ValueError(f"cannot tell the input shape of {type(step).__name__}: is it fitted?")


# ---- outputs ------------------------------------------------------------------------------------
def _classes_tensor(classes):
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        return classes.astype(np.float64)
    return classes.astype(str)


def classifier_head(g, est, scores, n_out, net_dtype) -> list:
    """Outputs ``label`` (as ``predict``), ``scores`` (the network's scores) and, for the
    probabilistic losses, ``probabilities`` (as ``predict_proba``)."""
    from ... import registry

    if getattr(est, "_multilabel", False):     # a 0/1 label per output, one sigmoid per label
        positive = g.node("Greater", [scores, g.const(np.zeros((), net_dtype), "zero")], "positive")
        label = g.cast(positive, np.int64, "labels")
        p = g.node("Sigmoid", [scores], "proba")
        return [("label", label, np.int64, ["N", n_out]), ("scores", scores, net_dtype, ["N", n_out]),
                ("probabilities", g.cast(p, np.float64, "proba_f64"), np.float64, ["N", n_out])]
    classes = _classes_tensor(est.classes_)
    if n_out == 1:                      # one score: s > 0 is the second class
        s0 = g.node("Squeeze", [scores, g.const(np.array([1], np.int64), "axis1")], "score0")
        positive = g.node("Greater", [s0, g.const(np.zeros((), net_dtype), "zero")], "positive")
        index = g.cast(positive, np.int64, "class_index")
    else:
        index = g.node("ArgMax", [scores], "class_index", axis=1, keepdims=0)
    label = g.node("Gather", [g.const(classes, "classes"), index], "label_value", axis=0)
    outputs = [("label", label, classes.dtype, ["N"]), ("scores", scores, net_dtype, ["N", n_out])]
    loss = getattr(est, "loss", "softmax")
    if loss == "log_loss":                      # scikit-learn's: one sigmoid for two classes, a softmax otherwise
        proba = "sigmoid" if n_out == 1 else "softmax"
    else:
        proba = registry.classification_loss(loss).proba
    if proba == "softmax":
        p = g.node("Softmax", [scores], "proba", axis=1)
    elif proba == "sigmoid" and n_out == 1:     # P(class 0) = sigma(-s), P(class 1) = sigma(s)
        neg = g.node("Sigmoid", [g.node("Neg", [scores], "neg_scores")], "p0")
        p = g.node("Concat", [neg, g.node("Sigmoid", [scores], "p1")], "proba", axis=1)
    elif proba == "sigmoid":                    # one sigmoid per class, normalised
        sig = g.node("Sigmoid", [scores], "sigmoids")
        total = g.node("ReduceSum", [sig, g.const(np.array([1], np.int64), "sum_axis")], "sigmoid_sum", keepdims=1)
        p = g.node("Div", [sig, total], "proba")
    else:
        return outputs
    width = max(n_out, 2)
    outputs.append(("probabilities", g.cast(p, np.float64, "proba_f64"), np.float64, ["N", width]))
    return outputs


def regressor_head(g, est, scores, n_out, net_dtype) -> list:
    """Output ``predictions`` as ``predict`` returns them: float64, (N,) for one target."""
    y = g.cast(scores, np.float64, "predictions_f64")
    if getattr(est, "_single_output", False):
        y = g.node("Squeeze", [y, g.const(np.array([1], np.int64), "axis1")], "predictions_flat")
        return [("predictions", y, np.float64, ["N"])]
    return [("predictions", y, np.float64, ["N", n_out])]
