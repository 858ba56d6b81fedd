"""The learning curves of a run (``curves.png``): loss and accuracy (or RMSE) per epoch, for the
training and the validation data, with a caption that says how each curve was measured.

Returns a matplotlib ``Figure`` built without pyplot and, given ``path``, writes it as a PNG
atomically (the conventions of ``chainrule.plotting``).
"""
from __future__ import annotations

from . import _finish, new_figure

__all__ = ["plot_curves"]


def _curve_sources(history, metric: str, modes: str = ""):
    """(field, label) of the training loss and metric curves, and the caption that says what they are.

    A history with ``train_loss`` (``fit(..., eval_train=...)``) is plotted on the validation
    curves' definition: the data loss and the accuracy measured in evaluation mode at each
    epoch's end. Otherwise the loop's running figures are shown, labelled as such.
    """
    fields = history.fields()
    if "train_loss" in fields:
        return ("train_loss", "training"), (f"train_{metric}", "training"), (
            f"training and validation measured alike: in evaluation mode{modes} at each epoch's end; "
            "loss = mean data loss, without the penalty")
    if history.info.get("solver") == "lbfgs":           # one full-batch objective per iteration
        return ("loss", "training objective (full batch, data + penalty)"), (f"train_{metric}", "training"), (
            "training: the objective L-BFGS minimises, at each iteration; validation: evaluation mode")
    what = "mean data loss" if "data_loss" in fields else "data loss + penalty"
    return ("data_loss" if "data_loss" in fields else "loss", "training, running"), (metric, "training, running"), (
        f"training: running over each epoch's batches, training mode, {what}; "
        "validation: evaluation mode at the epoch's end, mean data loss")


def _mode_differences(model) -> str:
    """What evaluation mode changes in ``model``: " (dropout off, batch norm's running statistics)",
    or "" when it changes nothing (a linear model, an MLP without either)."""
    if model is None:
        return ""
    kinds = {type(m).__name__ for m in model.modules()} if hasattr(model, "modules") else set()
    parts = (["dropout off"] if "Dropout" in kinds else []) + \
            (["batch norm's running statistics"] if {"BatchNorm1d", "BatchNorm2d"} & kinds else [])
    return f" ({', '.join(parts)})" if parts else ""


def plot_curves(history, path=None, title: str | None = None, *, loss: str | None = None, model=None):
    """Two panels: training and validation loss per epoch; accuracy (or RMSE) per epoch.

    With ``train_loss`` in the history (estimators' ``fit(eval_train=...)``, which ``chainrule
    train`` uses) both curves are the mean data loss and the accuracy in evaluation mode at each
    epoch's end; without, the training curves are the loop's running figures and say so. A
    caption under the panels names the definition.

    Parameters
    ----------
    history : History
        The history of a fit (``estimator.history_`` or ``Trainer``'s); per epoch a loss and,
        if recorded, validation loss and accuracy (or RMSE for a regressor).
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.
    title : str, optional
        A title over both panels.
    loss : str, optional
        The loss's name (``"SoftmaxLogLikelihood"``), shown over the loss panel.
    model : Module, optional
        The network; the caption then says what evaluation mode changes in it (dropout, batch
        norm), and nothing of the kind for a network that has neither.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without pyplot: no display needed).
    """
    fig = new_figure(10, 4.4)
    ax_loss, ax_metric = fig.subplots(1, 2)
    epochs = [r["epoch"] + 1 for r in history.records]
    fields = history.fields()
    metric = "accuracy" if {"accuracy", "train_accuracy", "val_accuracy"} & set(fields) else "error"
    (loss_field, loss_label), (metric_field, metric_label), caption = _curve_sources(history, metric,
                                                                                    _mode_differences(model))
    ax_loss.plot(epochs, history[loss_field], "o-", label=loss_label, color="#1f77b4")
    if "val_loss" in fields:
        ax_loss.plot(epochs, history["val_loss"], "s-", label="validation", color="#d62728")
    panel = "mean data loss, evaluation mode" if loss_field == "train_loss" else "loss"
    ax_loss.set(xlabel="epoch", ylabel="loss", title=f"{loss}: {panel}" if loss else panel)
    ax_loss.legend(fontsize=8)
    if metric_field in fields:
        ax_metric.plot(epochs, history[metric_field], "o-", label=metric_label, color="#1f77b4")
    if f"val_{metric}" in fields:
        ax_metric.plot(epochs, history[f"val_{metric}"], "s-", label="validation", color="#d62728")
    ax_metric.set(xlabel="epoch", ylabel=metric if metric == "accuracy" else "RMSE",
                  title=metric if metric == "accuracy" else "error (RMSE)")
    if ax_metric.lines:
        ax_metric.legend(fontsize=8)
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.supxlabel(caption, fontsize=8, color="#444444")
    return _finish(fig, path)
