"""The properties a teacher asked of each picture (issue 14, item 5), read from the figures."""
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from chainrule import plotting
from chainrule.training import History


def _history(train_metrics: bool):
    h = History()
    for e in range(4):
        r = {"epoch": e, "loss": 1.0 / (e + 1) + 0.1, "data_loss": 1.0 / (e + 1), "accuracy": 0.6 + e / 20,
             "val_loss": 1.1 / (e + 1), "val_accuracy": 0.55 + e / 20}
        if train_metrics:
            r.update(train_loss=0.9 / (e + 1), train_accuracy=0.7 + e / 20)
        h.append(r)
    return h


def _legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def test_curves_plot_eval_mode_training_figures_and_say_so():
    h = _history(train_metrics=True)
    fig = plotting.plot_curves(h)
    ax_loss, ax_acc = fig.axes
    lines = {ln.get_label(): list(ln.get_ydata()) for ln in ax_loss.lines}
    assert lines == {"training": h["train_loss"], "validation": h["val_loss"]}
    assert [list(ln.get_ydata()) for ln in ax_acc.lines] == [h["train_accuracy"], h["val_accuracy"]]
    assert "evaluation mode" in ax_loss.get_title()
    caption = fig._supxlabel.get_text()
    assert "evaluation mode" in caption and "epoch's end" in caption and "without the penalty" in caption


def test_curves_without_eval_mode_figures_label_the_running_ones():
    h = _history(train_metrics=False)
    fig = plotting.plot_curves(h)
    ax_loss, ax_acc = fig.axes
    train_loss = ax_loss.lines[0]
    assert list(train_loss.get_ydata()) == h["data_loss"] and "running" in train_loss.get_label()
    assert "running" in ax_acc.lines[0].get_label() and "running" in fig._supxlabel.get_text()


def test_confusion_title_has_the_accuracy():
    cm = np.array([[5, 1], [0, 8]])
    title = plotting.plot_confusion(cm, ["a", "b"]).axes[0].get_title()
    assert "accuracy 92.86% (13 of 14)" in title


def test_templates_share_a_symmetric_scale_with_a_colour_bar():
    W = np.zeros((3, 4))
    W[0, 0], W[1, 1], W[2, 2] = 2.0, -1.0, 0.5
    fig = plotting.plot_templates(W, (2, 2), "abc")
    panels = [ax for ax in fig.axes if ax.images]
    bars = [ax for ax in fig.axes if not ax.images and "weight" in ax.get_ylabel()]
    assert len(panels) == 3 and len(bars) == 1                       # one colour bar for all panels
    for ax in panels:
        im = ax.images[0]
        assert (im.norm.vmin, im.norm.vmax) == (-2.0, 2.0)             # 0 is the middle of every panel
    rgba = panels[0].images[0].to_rgba(np.array([[2.0, 0.0], [0.0, -2.0]]))
    assert rgba[0, 0, 0] > rgba[0, 0, 2] and rgba[1, 1, 2] > rgba[1, 1, 0]     # positive red, negative blue
    assert "red" in fig._suptitle.get_text()
    colour = plotting.plot_templates(np.random.default_rng(0).standard_normal((2, 12)), (2, 2, 3), "ab")
    assert any("mid-grey: 0" in ax.get_ylabel() for ax in colour.axes)


def test_boundary_marks_training_and_test_points_apart():
    rng = np.random.default_rng(0)
    X, Xt = rng.normal(size=(30, 2)), rng.normal(size=(12, 2))
    y, yt = (X[:, 0] > 0).astype(int), (Xt[:, 0] > 0).astype(int)
    fig = plotting.plot_boundary(lambda P: (P[:, 0] > 0).astype(int), X, y, ["neg", "pos"], X_test=Xt, y_test=yt)
    ax = fig.axes[0]
    scatters = [c for c in ax.collections if c.get_label().endswith(("(training)", "(test)"))]
    by_set = {}
    for c in scatters:
        by_set.setdefault(c.get_label().split("(")[1], []).append(c)
    assert {k: sum(len(c.get_offsets()) for c in v) for k, v in by_set.items()} == {"training)": 30, "test)": 12}
    shape = lambda c: tuple(map(tuple, c.get_paths()[0].vertices.round(3)))  # noqa: E731
    assert shape(by_set["training)"][0]) != shape(by_set["test)"][0])          # two marker styles
    assert {"training points", "test points", "neg", "pos"} <= set(_legend_texts(ax))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    ax2 = plotting.plot_boundary(lambda P: np.zeros(len(P), int), X, y, ["a", "b"], axis_names=("x1'", "x2'"),
                                 ax=fig.add_subplot(2, 1, 2))
    assert (ax2.get_xlabel(), ax2.get_ylabel()) == ("x1'", "x2'")


def test_overfitting_panels_have_labels_both_errors_and_one_legend_off_the_curves():
    x = np.linspace(-1, 1, 9)
    y = x ** 2
    xt = np.linspace(-1, 1, 30)
    yt = xt ** 2 + 0.1
    fits = {1: lambda A: 0.4 + 0 * A[:, 0], 2: lambda A: A[:, 0] ** 2, 3: lambda A: A[:, 0] ** 3,
            4: lambda A: A[:, 0], 12: lambda A: 30 * np.sin(40 * A[:, 0])}   # a wild one: it fills its panel
    fig = plotting.plot_polynomial_fits(x, y, xt, yt, fits, truth=lambda g: g ** 2)
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == 5
    for ax, order in zip(panels, fits):
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
        train_mse = np.mean((fits[order](x[:, None]) - y) ** 2)
        test_mse = np.mean((fits[order](xt[:, None]) - yt) ** 2)
        assert ax.get_title() == f"order {order}\ntraining MSE {train_mse:.3g}, test MSE {test_mse:.3g}"
        assert ax.get_legend() is None                      # no legend inside a panel, over its curves
    width, height = fig.get_size_inches()
    assert width / height < 2 and width <= 11                # three panels to a row, not a 17 x 3.6 strip
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["test points", "training points", "true function",
                                                         "the fitted polynomial"]
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in panels)   # below the panels, covering none


@pytest.fixture
def captured(monkeypatch):
    """Every figure the CLI saves, by file name."""
    figures = {}
    save = plotting.save_png

    def keep(fig, path):
        figures[str(path).rsplit("/", 1)[-1]] = fig
        save(fig, path)

    monkeypatch.setattr(plotting, "save_png", keep)
    return figures


def test_train_records_eval_mode_curves_and_draws_train_and_test_points(tmp_path, captured, capsys):
    from chainrule.cli import main
    assert main(["train", "--dataset", "xor", "--epochs", "3", "--quiet", "--out", str(tmp_path)]) == 0
    h = History.load(tmp_path / "history.json")
    assert len(h["train_loss"]) == len(h["train_accuracy"]) == len(h["val_loss"]) == 3
    curves = captured["curves.png"]
    assert [ln.get_label() for ln in curves.axes[0].lines] == ["training", "validation"]
    assert "accuracy" in captured["confusion.png"].axes[0].get_title()
    labels = set(_legend_texts(captured["boundary.png"].axes[0]))
    assert {"training points", "test points"} <= labels


def test_features_demo_names_the_transformed_axes(tmp_path, captured, capsys):
    from chainrule.cli import main
    assert main(["demo", "features", "--out", str(tmp_path)]) == 0
    left, right = [ax for ax in captured["features.png"].axes]
    assert (left.get_xlabel(), left.get_ylabel()) == ("x1", "x2")
    assert (right.get_xlabel(), right.get_ylabel()) == ("x1'", "x2'")
    assert "warning" not in capsys.readouterr().err         # 200 epochs are the run's length, not a failure


def test_curves_of_an_lbfgs_history_name_its_objective():
    h = History([{"epoch": e, "loss": 1.0 / (e + 1), "val_loss": 1.2 / (e + 1), "val_accuracy": 0.5}
                 for e in range(3)], info={"solver": "lbfgs"})
    fig = plotting.plot_curves(h)
    assert [ln.get_label() for ln in fig.axes[0].lines] == ["training objective (full batch, data + penalty)",
                                                            "validation"]
    assert [ln.get_label() for ln in fig.axes[1].lines] == ["validation"]      # L-BFGS records no running accuracy


def test_the_confusion_matrix_colour_bar_says_what_it_counts():
    fig = plotting.plot_confusion(np.array([[5, 1], [0, 7]]), ["a", "b"])
    colour_bar = fig.axes[1]
    assert colour_bar.get_ylabel() == "number of samples (true class, predicted class)"


def test_curves_name_the_loss_and_mention_dropout_only_where_there_is_some():
    from chainrule import nn
    h = _history(train_metrics=True)
    linear = nn.Sequential(nn.Linear(4, 3, rng=0))
    fig = plotting.plot_curves(h, loss="MulticlassHinge", model=linear)
    assert fig.axes[0].get_title().startswith("MulticlassHinge: ")
    caption = fig._supxlabel.get_text()
    assert "dropout" not in caption and "batch norm" not in caption and "evaluation mode at" in caption
    dropped = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Dropout(0.5, rng=0), nn.BatchNorm1d(8), nn.Linear(8, 3, rng=0))
    caption = plotting.plot_curves(h, model=dropped)._supxlabel.get_text()
    assert "evaluation mode (dropout off, batch norm's running statistics) at" in caption
    running = plotting.plot_curves(_history(train_metrics=False))._supxlabel.get_text()
    assert "dropout" not in running
