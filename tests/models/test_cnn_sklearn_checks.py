"""scikit-learn's estimator checks on CNNClassifier, fed flat rows with ``image_shape``.

The checks build their own data sets with 1 to 20 features, so the instance reads each row as a
1 x D image (``image_shape=(1, 1, -1)``: the -1 is the rest of the row). The lenet needs at
least 4 x 4 pixels (two 2 x 2 poolings), so the checks run on the other architecture, a ResNet
made small (width 4, one block per stage; 3 x 3 convolutions with padding 1 take any image of at
least one pixel) with stochastic depth off (``p_last=1``: the checks compare fits bit for bit).
``dtype=None`` computes in the input's dtype, float64 here, as the MLPs' checks do (float32
predictions of subsets differ in the last bit: check_methods_subset_invariance).

Expected failure, one:
- check_sample_weight_equivalence_on_dense_data: the ResNet's batch norm normalises each batch
  with the batch's unweighted mean and variance, so a row repeated twice moves the statistics
  and a row of weight 2 does not; the two fits differ by design (PyTorch's BatchNorm2d does the
  same). Sparse input is refused (images are dense), so the sparse variant does not apply.
"""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from chainrule.models import CNNClassifier

SMALL_RESNET = CNNClassifier("resnet", image_shape=(1, 1, -1), width=4, blocks_per_stage=1, p_last=1.0,
                             max_iter=30, learning_rate_init=0.01, dtype=None)
BATCH_NORM = ("batch norm normalises with each batch's unweighted statistics: a repeated row moves them, a row of "
              "weight 2 does not")


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1):
        yield


@parametrize_with_checks([SMALL_RESNET], expected_failed_checks=lambda est: {
    "check_sample_weight_equivalence_on_dense_data": BATCH_NORM})
def test_cnn_classifier_passes_sklearn_checks(estimator, check):
    check(estimator)
