"""0-d arrays come back from a model file as 0-d arrays, not shape (1,) (issue 19.7: a planted
np.ascontiguousarray, which makes a 0-d array 1-d, went unnoticed)."""
import numpy as np

from chainrule import io


def test_a_0d_fitted_attribute_keeps_its_shape(tmp_path):
    from chainrule.datasets import ScaleToUnit
    scale = ScaleToUnit(16).fit(np.ones((3, 8, 8)))
    assert np.shape(scale.scale_) == ()
    io.save(scale, tmp_path / "scale.safetensors")
    back = io.load(tmp_path / "scale.safetensors")
    assert isinstance(back.scale_, np.ndarray) and back.scale_.shape == () and back.scale_ == scale.scale_
    np.testing.assert_array_equal(back.transform(np.full((2, 8, 8), 8.0)), scale.transform(np.full((2, 8, 8), 8.0)))


def test_a_0d_array_in_a_pipeline_keeps_its_shape(tmp_path):
    from sklearn.pipeline import make_pipeline

    from chainrule.datasets import Flatten, ScaleToUnit
    from chainrule.models import LinearClassifier
    X = np.random.default_rng(0).uniform(0, 16, (20, 2, 2))
    pipe = make_pipeline(ScaleToUnit(16), Flatten(), LinearClassifier(max_iter=2, random_state=0)).fit(X, [0, 1] * 10)
    io.save(pipe, tmp_path / "pipe.safetensors")
    _, tensors = io.read(tmp_path / "pipe.safetensors")
    assert any(t.shape == () for t in tensors.values())               # stored as a 0-d tensor
    assert io.load(tmp_path / "pipe.safetensors").steps[0][1].scale_.shape == ()
