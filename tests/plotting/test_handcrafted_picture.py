"""The picture of `chainrule demo handcrafted`: the image with its HOG cell grid, the HOG cells,
and one bar per method coloured by the kind of features."""
import numpy as np
import pytest

from chainrule.datasets import load_digits
from chainrule.plotting import plot_handcrafted
from chainrule.plotting.handcrafted import KIND_COLOURS

RESULTS = [{"method": "HOG + nearest neighbour (k=3)", "features": "hand-crafted", "test_accuracy": 0.97},
           {"method": "raw pixels + CNN (lenet)", "features": "learned", "test_accuracy": 0.99}]


def test_hog_cells_and_one_bar_per_method(tmp_path):
    image = load_digits().X_test[0]
    fig = plot_handcrafted(image, RESULTS, tmp_path / "h.png", resize_to=(24, 24), pixels_per_cell=(6, 6))
    ax_img, ax_hog, ax_bar = fig.axes[:3]
    assert ax_img.get_images()[0].get_array().shape == (24, 24)
    assert len(ax_img.lines) == 3 + 3                      # the 4 x 4 cells' inner grid lines
    assert ax_hog.get_images()[0].get_array().max() > 0    # some orientation is drawn
    bars = ax_bar.patches
    assert [t.get_text() for t in ax_bar.get_yticklabels()] == [r["method"] for r in RESULTS]
    widths = sorted((b.get_y(), b.get_width()) for b in bars)
    assert [w for _, w in widths] == pytest.approx([0.99, 0.97])
    import matplotlib.colors as mc
    assert mc.to_hex(bars[0].get_facecolor()) == KIND_COLOURS["hand-crafted"]
    assert (tmp_path / "h.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"expected one image \(H, W\) or \(H, W, 3\); got shape \(64,\)"):
        plot_handcrafted(np.zeros(64), RESULTS)


def test_the_accuracy_axis_ends_at_one_and_starts_on_a_round_value_below_the_lowest_bar():
    image = load_digits().X_test[0]
    accuracies = [0.9972, 0.9806, 0.9694, 0.9889]
    results = [{"method": f"m{i}", "features": "learned", "test_accuracy": a} for i, a in enumerate(accuracies)]
    ax_bar = plot_handcrafted(image, results).axes[2]
    assert ax_bar.get_xlim() == pytest.approx((0.90, 1.0))           # was 0.87 to 1.02: past what accuracy can be
    for text, a in zip(ax_bar.texts, accuracies):                    # each value inside its bar's end
        assert text.get_text().strip() == f"{a:.3f}" and text.get_ha() == "right" and text.get_position()[0] == a
    low = plot_handcrafted(image, [{"method": "m", "features": "none", "test_accuracy": 0.41}]).axes[2]
    assert low.get_xlim() == pytest.approx((0.35, 1.0))
