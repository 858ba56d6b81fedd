"""A Ctrl-C during a scikit-learn fit of `chainrule demo handcrafted` is honoured at once.

liblinear and the forest's tree builder run in C without returning to Python; called in the main
thread, they would hold a Ctrl-C until the fit ended (minutes on a large set). The demo fits them in a
helper thread and waits in the main thread, where Python runs its signal handler.
"""
import os
import signal
import threading

import pytest

from chainrule.cli.demo import _fit_interruptibly

pytestmark = pytest.mark.usefixtures("ctrl_c_as_in_a_terminal")   # conftest.py says why


class _StuckInC:
    """Stands for a fit inside a C loop: it does not return until the test lets it."""

    def __init__(self, started, release):
        self.started, self.release, self.thread = started, release, None

    def fit(self, X, y):
        self.thread = threading.current_thread()
        self.started.set()
        self.release.wait(60)
        return self


def test_ctrl_c_during_a_fit_that_does_not_return_raises_at_once_in_the_main_thread():
    assert threading.current_thread() is threading.main_thread()
    started, release = threading.Event(), threading.Event()
    model = _StuckInC(started, release)
    fired = threading.Thread(target=lambda: started.wait(60) and os.kill(os.getpid(), signal.SIGINT))
    fired.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _fit_interruptibly(model, [[0.0]], [0])
        assert not release.is_set() and started.is_set()          # raised while the fit was still running
        assert model.thread is not threading.main_thread()        # the fit ran beside the main thread
    finally:
        release.set()
        fired.join()


def test_the_fitted_model_and_any_error_come_back_as_they_are():
    started, release = threading.Event(), threading.Event()
    release.set()
    model = _StuckInC(started, release)
    assert _fit_interruptibly(model, [[0.0]], [0]) is model

    class Refuses:
        def fit(self, X, y):
            raise ValueError("Found array with 0 samples")

    with pytest.raises(ValueError, match="0 samples"):
        _fit_interruptibly(Refuses(), [[0.0]], [0])
