"""summary(): every layer, its output shape and its parameter count, with totals."""
import numpy as np
import pytest

from chainrule import nn


def test_summary_lists_layers_shapes_and_counts():
    net = nn.Sequential(nn.Linear(64, 32, rng=0), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2),
                        nn.Linear(32, 10, rng=1))
    s = net.summary((64,))
    assert [r[:3] for r in s.rows] == [("0", "Linear", "(N, 32)"), ("1", "BatchNorm1d", "(N, 32)"),
                                       ("2", "ReLU", "(N, 32)"), ("3", "Dropout", "(N, 32)"),
                                       ("4", "Linear", "(N, 10)")]
    assert [r[3] for r in s.rows] == [64 * 32 + 32, 64, 0, 0, 32 * 10 + 10]
    assert s.total_params == sum(p.value.size for p in net.parameters()) == 64 * 32 + 32 + 64 + 330
    text = str(s)
    assert "total parameters: 2,474" in text and "(N, 10)" in text
    assert "<table>" in s._repr_html_()
    # the output shapes are those of a real forward pass
    assert net.eval().forward(np.zeros((3, 64), np.float32)).shape == (3, 10)


def test_summary_without_input_shape_and_with_a_wrong_one():
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
    assert [r[2] for r in net.summary().rows] == ["?", "?"]
    with pytest.raises(ValueError, match=r"Linear\(4, 3\) expected input of shape \(N, 4\); got shape \(1, 5\)"):
        net.summary((5,))


def test_shared_parameters_are_counted_once():
    a, b = nn.Linear(3, 3, rng=0), nn.Linear(3, 3, rng=1)
    b.weight = a.weight
    s = nn.Sequential(a, nn.Tanh(), b).summary((3,))
    assert s.total_params == 9 + 3 + 3
