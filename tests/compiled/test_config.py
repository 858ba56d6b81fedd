"""show_config() / chainrule info say what a bug report needs; set_num_threads sets the workers and BLAS together."""
import io
import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

import chainrule
from chainrule import _compiled
from chainrule.cli import main


def blas_threads():
    return {d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"}


def test_show_config_names_the_version_the_backend_numba_numpy_blas_and_threads():
    out = io.StringIO()
    chainrule.show_config(file=out)
    text = out.getvalue()
    for word in ("chainrule", chainrule.__version__, "compiled backend", "numpy", "numba", "blas", "threads", "cores"):
        assert word in text, word


def test_show_config_says_why_the_backend_is_off():
    before = _compiled.enabled()
    try:
        _compiled.set_enabled(False)
        out = io.StringIO()
        chainrule.show_config(file=out)
        assert "off (turned off by set_enabled(False))" in out.getvalue()
    finally:
        _compiled.set_enabled(before)


def test_the_environment_switch_turns_the_engine_off_and_the_reference_runs():
    code = ("import chainrule, numpy as np; from chainrule.architectures import lenet; net = lenet(1, 10, 8, rng=0); "
            "net.forward(np.zeros((2, 1, 8, 8), np.float32)); print(net._fused_ran); chainrule.show_config()")
    env = dict(os.environ, CHAINRULE_COMPILED="0")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.startswith("False") and "CHAINRULE_COMPILED=0" in out


def test_chainrule_info_prints_the_same(capsys):
    assert main(["info", "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "compiled backend" in text and "threads (set_num_threads)  1" in text


def test_set_num_threads_sets_blas_too_and_auto_restores_it(threads):
    start = blas_threads()
    threads(1)
    assert chainrule.get_num_threads() == 1 and blas_threads() == {1}
    threads("auto")
    assert chainrule.get_num_threads() == "auto" and blas_threads() == start


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True, None])
def test_set_num_threads_refuses_what_is_not_a_count(threads, bad):
    with pytest.raises(ValueError, match="set_num_threads n must be a positive integer"):
        threads(bad)
    assert chainrule.get_num_threads() == "auto"


def test_the_estimators_n_threads_is_the_setting_during_fit_and_restored_after(threads):
    from chainrule.models import MLPClassifier
    import numpy as np
    seen = []

    class Spy(MLPClassifier):
        def _build_network(self, *a, **k):
            seen.append((chainrule.get_num_threads(), blas_threads()))
            return super()._build_network(*a, **k)
    rng = np.random.default_rng(0)
    Spy((4,), max_iter=1, n_threads=1).fit(rng.standard_normal((20, 3)), rng.integers(0, 2, 20))
    assert seen == [(1, {1})] and chainrule.get_num_threads() == "auto"
