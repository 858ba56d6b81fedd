"""What the fused-engine tests share: the tolerances and the relative error."""
import numpy as np

TOL = {np.float64: 1e-12, np.float32: 1e-5}


def rel(a, b) -> float:
    """max |a - b| / max |b| (float64)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
