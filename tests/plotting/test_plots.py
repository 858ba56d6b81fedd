"""The plotting functions: panels, lines and images on the returned figures, and the PNG files."""
import numpy as np
import pytest
from PIL import Image

from chainrule import plotting
from chainrule.training import History


def _history(with_val=True):
    h = History()
    for e in range(5):
        r = {"epoch": e, "loss": 1 / (e + 1), "accuracy": 0.5 + e / 10}
        if with_val:
            r.update(val_loss=1.2 / (e + 1), val_accuracy=0.45 + e / 10)
        h.append(r)
    return h


def test_curves_two_panels_with_train_and_validation_lines(tmp_path):
    fig = plotting.plot_curves(_history(), tmp_path / "c.png")
    assert len(fig.axes) == 2 and all(len(ax.lines) == 2 for ax in fig.axes)
    assert len(plotting.plot_curves(_history(with_val=False)).axes[0].lines) == 1
    with Image.open(tmp_path / "c.png") as im:
        assert im.format == "PNG" and im.size == (1000, 440)


def test_templates_one_image_panel_per_class(tmp_path):
    W = np.random.default_rng(0).standard_normal((10, 64))
    fig = plotting.plot_templates(W, (8, 8), [str(i) for i in range(10)], tmp_path / "t.png")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 10 and [ax.get_title() for ax in panels] == [str(i) for i in range(10)]
    colour = plotting.plot_templates(np.random.default_rng(1).standard_normal((3, 12)), (2, 2, 3), "abc")
    assert len([ax for ax in colour.axes if ax.images]) == 3


def test_confusion_counts_are_written_in_the_cells():
    cm = np.array([[5, 1], [0, 7]])
    fig = plotting.plot_confusion(cm, ["a", "b"])
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["1", "5", "7"]                        # zero cells stay empty


def test_mistakes_gallery_shows_only_the_mistakes():
    images = np.random.default_rng(0).integers(0, 255, (20, 8, 8))
    y = np.arange(20) % 4
    pred = y.copy()
    pred[[2, 5, 11]] = (pred[[2, 5, 11]] + 1) % 4
    fig = plotting.plot_mistakes(images, y, pred, list("wxyz"))
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3 and shown[0].get_title() == f"{'wxyz'[pred[2]]} ({'wxyz'[y[2]]})"


def test_boundary_regions_cover_the_classes():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    y = np.array([0, 1, 1])
    fig = plotting.plot_boundary(lambda P: (P[:, 0] + P[:, 1] > 0.5).astype(int), X, y, ["a", "b"])
    ax = fig.axes[0]
    assert len(ax.collections) >= 3                        # the filled regions and one scatter per class
    with pytest.raises(Exception):
        plotting.plot_boundary(lambda P: P, np.zeros((2, 3)), [0, 1], ["a", "b"])
