"""Fixtures of the fused-engine tests: networks built on each path, and the thread setting restored."""
import pytest

from chainrule import _compiled

@pytest.fixture
def build():
    """build(make, compiled) -> make() called with the compiled kernels on or off (restored after)."""
    before = _compiled.enabled()

    def make(fn, compiled: bool):
        _compiled.set_enabled(compiled)
        try:
            return fn()
        finally:
            _compiled.set_enabled(before)
    return make


@pytest.fixture
def threads():
    """threads(n): chainrule.set_num_threads(n) for this test (restored after)."""
    before = _compiled.get_num_threads()
    yield _compiled.set_num_threads
    _compiled.set_num_threads(before)
