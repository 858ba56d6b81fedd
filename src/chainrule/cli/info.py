"""chainrule info: the version, the compiled backend on or off (and why), numba, NumPy, BLAS and threads."""
from __future__ import annotations

from .._compiled.config import show_config
from .._compiled.workers import using_threads
from ._types import Number


def add_parser(sub):
    p = sub.add_parser("info", help="versions, the compiled backend, BLAS and thread settings (for a bug report)",
                       description="Prints chainrule's version, whether the compiled (numba) kernels are on and "
                                   "why, the numba, NumPy and BLAS versions, and the thread settings: what a bug "
                                   "report needs. The same as chainrule.show_config().")
    p.add_argument("--threads", type=Number(int, 1, 256), default=None,
                   help="show the settings as a run with this many threads (train --threads) sees them "
                        "(default: the process's setting, 'auto' unless set)")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    with using_threads(args.threads):
        show_config()
    return 0
