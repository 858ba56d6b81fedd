"""Edges of the guarded reader: an .npy file holds exactly what its header declares (no byte more),
and a cap raised from the environment must be a number of bytes >= 1.

Planted bugs these catch (``scripts/plant_bugs.py``), survivors of every other fast test: io-06
(trailing bytes after an .npy's data accepted; only a short file was tested) and io-10 (a cap of
0 bytes accepted from ``CHAINRULE_MAX_<KIND>_BYTES``).
"""
import io

import numpy as np
import pytest

from chainrule.io.safe import UnsafeFileError, cap
from chainrule.io.safe_arrays import load_npy_capped


def test_an_npy_with_bytes_after_its_data_is_refused(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.arange(6.0))
    (tmp_path / "ok.npy").write_bytes(buf.getvalue())
    np.testing.assert_array_equal(load_npy_capped(tmp_path / "ok.npy", 1 << 20), np.arange(6.0))
    (tmp_path / "long.npy").write_bytes(buf.getvalue() + b"\0" * 8)
    with pytest.raises(UnsafeFileError, match=r"declares \(6,\) of float64"):
        load_npy_capped(tmp_path / "long.npy", 1 << 20)


@pytest.mark.parametrize("text", ["0", "-5", "0.0", "lots"])
def test_a_cap_from_the_environment_must_be_at_least_one_byte(monkeypatch, text):
    monkeypatch.setenv("CHAINRULE_MAX_CONFIG_BYTES", text)
    with pytest.raises(ValueError, match=r"CHAINRULE_MAX_CONFIG_BYTES must be a number of bytes >= 1"):
        cap("config")
    monkeypatch.setenv("CHAINRULE_MAX_CONFIG_BYTES", "1")
    assert cap("config") == 1
