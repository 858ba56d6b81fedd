"""``n_threads``: the estimators' fit and predict run with that many BLAS threads (threadpoolctl),
and leave NumPy's setting as it was afterwards."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from chainrule.models import CNNClassifier, LinearClassifier, LinearRegression, MLPClassifier, MLPRegressor, PolynomialRegression


def _blas_threads():
    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=None)


def _spy(cls, seen, method):
    """A subclass recording the BLAS thread count seen inside ``method``."""
    def spied(self, *args, **kwargs):
        seen.append(_blas_threads())
        return getattr(cls, method)(self, *args, **kwargs)
    return type(cls.__name__, (cls,), {method: spied})


@pytest.mark.parametrize("cls, kwargs", [
    (MLPClassifier, dict(hidden_layer_sizes=(8,), max_iter=2)),
    (MLPRegressor, dict(hidden_layer_sizes=(8,), max_iter=2)),
    (LinearClassifier, dict(max_iter=2)),
    (LinearRegression, dict(max_iter=3)),
    (LinearRegression, dict(solver="lstsq")),
    (PolynomialRegression, dict(degree=2)),
    (CNNClassifier, dict(max_iter=1, batch_size=20)),
])
def test_fit_and_predict_run_with_n_threads(cls, kwargs):
    if _blas_threads() is None:
        pytest.skip("no BLAS library that threadpoolctl can see")
    before = _blas_threads()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4, 4)) if cls is CNNClassifier else rng.standard_normal((40, 3))
    y = (X.reshape(40, -1)[:, 0] > 0).astype(int) if cls in (MLPClassifier, LinearClassifier, CNNClassifier) \
        else X[:, 0]
    seen_fit, seen_predict = [], []
    spy = _spy(_spy(cls, seen_fit, "_check_X_y"), seen_predict, "_model_input")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = spy(n_threads=1, **kwargs).fit(X, y)
    est.predict(X)
    assert seen_fit and set(seen_fit) == {1}
    assert seen_predict and seen_predict[-1] == 1
    assert _blas_threads() == before                       # restored afterwards


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two"])
def test_a_bad_n_threads_is_refused_naming_it(bad):
    with pytest.raises((ValueError, TypeError), match="n_threads"):
        MLPClassifier((4,), max_iter=1, n_threads=bad).fit(np.zeros((6, 2)), [0, 1] * 3)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, LinearClassifier, LinearRegression,
                                 PolynomialRegression, CNNClassifier])
def test_one_default_auto_for_the_estimators_and_the_command_line(cls):
    """Issue 22.4: one threads default, "auto", for every estimator and ``chainrule train --threads``."""
    from chainrule.cli.train import DEFAULT_THREADS
    assert cls().get_params()["n_threads"] == "auto" == DEFAULT_THREADS


@pytest.mark.parametrize("chosen", [1, 2])
def test_a_default_fit_runs_blas_on_the_threads_auto_chose_at_its_start(monkeypatch, chosen):
    """"auto": BLAS's threads chosen once per run (one per core when the machine is quiet, one when it
    is busy: ``workers.run_threads``), the compiled workers per step; both restored afterwards."""
    import chainrule
    from chainrule._compiled import workers
    if _blas_threads() is None or _blas_threads() < chosen:
        pytest.skip(f"needs a BLAS that threadpoolctl can see, with {chosen} threads")
    before, setting = _blas_threads(), chainrule.get_num_threads()
    monkeypatch.setattr(workers, "run_threads", lambda: chosen)
    seen = []

    def spied(self, *args, **kwargs):
        seen.append((_blas_threads(), chainrule.get_num_threads(), workers.run_blas_threads()))
        return MLPClassifier._check_X_y(self, *args, **kwargs)
    spy = type("MLPClassifier", (MLPClassifier,), {"_check_X_y": spied})
    X = np.random.default_rng(0).standard_normal((40, 3))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spy(hidden_layer_sizes=(8,), max_iter=20).fit(X, (X[:, 0] > 0).astype(int))
    assert seen and set(seen) == {(chosen, "auto", chosen)}
    assert (_blas_threads(), chainrule.get_num_threads(), workers.run_blas_threads()) == (before, setting, None)


def test_auto_takes_one_thread_per_core_when_quiet_and_one_when_busy(monkeypatch):
    import os
    from chainrule._compiled import workers
    monkeypatch.setattr(workers, "cores", lambda: 2)
    for load, expected in ((0.2, 2), (0.74, 2), (0.75, 1), (6.0, 1)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert workers.auto_threads() == expected
        assert workers.auto_threads(active=2) == (2 if load - 2 < 0.75 else 1)


def test_a_run_takes_the_cores_no_other_process_keeps_busy(monkeypatch):
    """What runs now, less this process's own runnable threads (its BLAS threads spinning after a
    product are not another process), the median of a few looks."""
    import os
    from chainrule._compiled import workers
    monkeypatch.setattr(workers, "cores", lambda: 2)
    monkeypatch.setattr(workers, "_own_load", lambda: 2.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 2.0, 2.0))        # all of it ours
    cases = (([(3, 3)] * 5, 2), ([(4, 2)] * 5, 1), ([(3, 1)] * 5, 1), ([(9, 1)] * 5, 1),
             ([(1, 1), (2, 1), (1, 1), (2, 1), (1, 1)], 2),          # a passing process: the median ignores it
             ([(2, 1), (2, 1), (1, 1)] + [(2, 1)] * 2, 1))
    for looks, expected in cases:
        seen = iter(looks)
        monkeypatch.setattr(workers, "_running_now", lambda: next(seen))
        assert workers.run_threads() == expected, looks
    monkeypatch.setattr(workers, "_running_now", lambda: (1, 1))
    assert workers.run_threads() == 2
    monkeypatch.setattr(workers, "_own_load", lambda: 1.0)                # another process's minute
    assert workers.run_threads() == 1
    monkeypatch.setattr(workers, "_own_load", lambda: 1.3)
    assert workers.run_threads() == 2


def test_this_processs_own_load_is_measured_over_its_last_interval(monkeypatch):
    from chainrule._compiled import workers
    clock = {"wall": 100.0, "cpu": 10.0}
    monkeypatch.setattr(workers.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(workers, "_cpu_seconds", lambda: clock["cpu"])
    monkeypatch.setattr(workers, "_own", {"wall": 100.0, "cpu": 10.0, "since": (0.0, 5.0)})
    clock.update(wall=102.0, cpu=14.0)                 # 2 s, 4 cpu-seconds: two cores busy
    assert workers._own_load() == 2.0
    clock.update(wall=102.5, cpu=14.5)                 # 0.5 s since: too short, since import instead
    assert workers._own_load() == (14.5 - 5.0) / 102.5
    clock.update(wall=300.0, cpu=14.5)                 # idle for minutes: since import
    assert workers._own_load() == (14.5 - 5.0) / 300.0


def test_this_processs_own_busy_threads_are_not_others():
    """Two threads of ours in long products (the GIL released, both runnable) are subtracted."""
    import threading
    from chainrule._compiled import workers
    if workers._running_now() is None:
        pytest.skip("no /proc")
    a = np.ones((600, 600))
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            a @ a
    threads = [threading.Thread(target=spin) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        looks = [workers._running_now() for _ in range(20)]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert max(ours for _, ours in looks) >= 2                       # our spinning threads are seen as ours
    assert all(total >= ours for total, ours in looks)


def test_a_resumed_auto_run_takes_the_blas_threads_its_checkpoint_records(monkeypatch, tmp_path):
    """The checkpoint of an "auto" run records BLAS's threads; resumed on a machine whose load makes
    "auto" choose otherwise, the run takes the recorded count again (the same bits as uninterrupted)."""
    from chainrule import losses, nn, optim
    from chainrule._compiled import workers
    from chainrule.training import Trainer
    from chainrule.training.checkpoint import read_checkpoint
    if _blas_threads() is None or _blas_threads() < 2:
        pytest.skip("needs a BLAS that threadpoolctl can see, with 2 threads")
    X = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)

    def trainer():
        net = nn.Sequential(nn.Linear(4, 6, rng=0), nn.ReLU(), nn.Linear(6, 2, rng=1))
        return Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1), batch_size=8, epochs=1, rng=0)
    path = tmp_path / "ck.npz"
    monkeypatch.setattr(workers, "run_threads", lambda: 2)
    with workers.using_threads("auto"):
        t = trainer()
        t.fit(X, y)
        t.save_checkpoint(path)
    assert read_checkpoint(path)[1]["blas_threads"] == 2
    monkeypatch.setattr(workers, "run_threads", lambda: 1)
    before = _blas_threads()
    with workers.using_threads("auto"):
        assert (_blas_threads(), workers.run_blas_threads()) == (1, 1)
        trainer().resume(path)
        assert (_blas_threads(), workers.run_blas_threads()) == (2, 2)
    assert _blas_threads() == before and workers.run_blas_threads() is None
    with workers.using_threads(1):                       # an explicit count is never overridden
        trainer().resume(path)
        assert _blas_threads() == 1 and workers.run_blas_threads() is None


def test_auto_never_raises_an_outer_blas_limit(monkeypatch):
    """A sweep's one BLAS thread per fit, ``OPENBLAS_NUM_THREADS=1`` or the user's own
    ``threadpool_limits(1)`` stay: "auto" takes at most what BLAS has."""
    from threadpoolctl import threadpool_limits
    from chainrule._compiled import workers
    if _blas_threads() is None:
        pytest.skip("no BLAS library that threadpoolctl can see")
    monkeypatch.setattr(workers, "run_threads", lambda: 2)
    with threadpool_limits(limits=1, user_api="blas"):
        with workers.using_threads("auto"):
            assert (_blas_threads(), workers.run_blas_threads()) == (1, 1)


def test_a_nested_auto_run_keeps_the_outer_runs_choice(monkeypatch):
    from chainrule._compiled import workers
    monkeypatch.setattr(workers, "run_threads", lambda: 2)
    with workers.using_threads("auto"):
        monkeypatch.setattr(workers, "run_threads", lambda: 1)
        with workers.using_threads("auto"):
            assert workers.run_blas_threads() == 2
        assert workers.run_blas_threads() == 2


def test_threads_auto_on_the_command_line(tmp_path):
    from chainrule.cli import main
    assert main(["train", "--quiet", "--epochs", "2", "--threads", "auto", "--out", str(tmp_path / "run")]) == 0
    assert main(["train", "--quiet", "--epochs", "2", "--threads", "2", "--out", str(tmp_path / "run2")]) == 0
