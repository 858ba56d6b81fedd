"""The pictures of a convolutional network: filters (one tile per filter, one symmetric colour
scale, a colour bar) and feature maps (the input, then one row per pooling or stage end)."""
import numpy as np
import pytest

from chainrule import nn
from chainrule.architectures import lenet, resnet
from chainrule.plotting import plot_feature_maps, plot_filters


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.get_images()]


def _colour_bars(fig):
    return [ax for ax in fig.axes if not ax.get_images() and ax.get_label() == "<colorbar>"]


def test_filters_one_tile_each_on_a_shared_symmetric_scale(tmp_path):
    net = lenet(1, 10, 8, rng=0)
    W = net[0].weight.value
    fig = plot_filters(net, tmp_path / "filters.png")
    tiles = _image_axes(fig)
    assert len(tiles) == 32 and [ax.get_title() for ax in tiles[:2]] == ["filter 0", "filter 1"]
    m = float(np.abs(W).max())
    for ax in tiles:
        lo, hi = ax.get_images()[0].get_clim()
        assert (lo, hi) == pytest.approx((-m, m))
    assert len(_colour_bars(fig)) == 1
    assert "32 of 32 filters 3 x 3" in fig._suptitle.get_text()
    np.testing.assert_allclose(tiles[5].get_images()[0].get_array(), W[5, 0])
    assert (tmp_path / "filters.png").stat().st_size > 1000


def test_colour_filters_show_their_channels_side_by_side():
    W = np.random.default_rng(0).normal(size=(6, 3, 3, 3))
    fig = plot_filters(W)
    tiles = _image_axes(fig)
    assert len(tiles) == 6
    tile = np.ma.filled(tiles[2].get_images()[0].get_array(), np.nan)
    assert tile.shape == (3, 11)
    np.testing.assert_allclose(tile[:, 4:7], W[2, 1])
    assert np.isnan(tile[:, 3]).all()
    with pytest.raises(ValueError, match=r"plot_filters expected a weight of shape \(out, in, kh, kw\); got shape \(6, 3\)"):
        plot_filters(np.zeros((6, 3)))


def _row_labels(fig) -> list[str]:
    """The label over each row of feature maps (a text over its first panel)."""
    return [t.get_text() for ax in fig.axes for t in ax.texts if " maps " in t.get_text()]


def test_row_labels_count_repeated_layers_and_pairs():
    from chainrule.plotting.convnets import stage_label
    blocks = [nn.Residual(nn.Identity()), nn.ReLU()] * 3
    assert stage_label(blocks, (1, 16, 4, 4)) == "(Residual → ReLU) ×3: 16 maps 4 x 4"
    assert stage_label([nn.ReLU(), nn.ReLU(), nn.MaxPool2d(2)], (1, 8, 2, 2)) == "ReLU ×2 → MaxPool2d: 8 maps 2 x 2"


def test_feature_maps_of_lenet_show_each_stage_and_pooling(tmp_path):
    net = lenet(1, 10, 28, rng=0)
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    fig = plot_feature_maps(net, image, tmp_path / "maps.png", max_maps=8, label="7")
    assert _row_labels(fig) == ["Conv2d 3x3 → ReLU: 32 maps 28 x 28", "MaxPool2d: 32 maps 14 x 14",
                                "Conv2d 3x3 → ReLU: 64 maps 14 x 14", "MaxPool2d: 64 maps 7 x 7"]   # names, not indices
    assert len(_image_axes(fig)) == 1 + 4 * 8 and len(_colour_bars(fig)) == 4
    assert fig.axes[0].get_title(loc="left") == "input (7)"
    assert (tmp_path / "maps.png").stat().st_size > 1000


def test_feature_maps_of_a_resnet_show_the_end_of_each_stage():
    net = resnet(3, 10, width=4, blocks_per_stage=1, rng=0)
    image = np.random.default_rng(1).random((3, 32, 32)).astype(np.float32)
    fig = plot_feature_maps(net, image)
    assert _row_labels(fig) == ["Conv2d 3x3 → BatchNorm2d → ReLU → Residual → ReLU: 4 maps 32 x 32",
                                "Residual → ReLU: 8 maps 16 x 16", "Residual → ReLU: 16 maps 8 x 8"]
    with pytest.raises(ValueError, match=r"expected one image \(H, W\) or \(C, H, W\); got shape \(2, 3, 32, 32\)"):
        plot_feature_maps(net, np.zeros((2, 3, 32, 32)))
