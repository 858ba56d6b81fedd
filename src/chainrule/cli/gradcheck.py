"""chainrule gradcheck: every module, loss and penalty against central differences (float64)."""
from __future__ import annotations

from ..grad import check_gradients
from ..grad_cases import cases
from ._types import SEED, Number


def add_parser(sub):
    p = sub.add_parser("gradcheck", help="check every module, loss and penalty against central differences",
                       description="Compares each hand-derived gradient with central differences in float64 and "
                                   "prints the largest relative error of each. Exit code 1 if any exceeds --tol.")
    p.add_argument("--tol", type=Number(float, 0, 1, low_open=True), default=1e-6,
                   help="largest relative error that passes")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the random inputs")
    p.set_defaults(run=run)
    return p


CHECKED_WIDTH = 42


def fit_names(names, width: int = CHECKED_WIDTH) -> str:
    """``names`` joined by commas within ``width`` characters: whole names only, the rest counted
    ("input, 0.weight, + 3 more"), never a name cut in the middle."""
    names = list(names)
    for shown in range(len(names), -1, -1):
        rest = len(names) - shown
        text = ", ".join(names[:shown] + ([f"+ {rest} more"] if rest else []))
        if len(text) <= width:
            return text
    return f"{len(names)} gradients"


def run(args) -> int:
    failed = 0
    print(f"{'piece':<38s}{'checked':<44s}{'largest rel. error':>20s}")
    table = cases(args.seed)
    for name, obj, x, target in table:
        report = check_gradients(obj, x, target, tol=args.tol, name=name)      # target None: a module or a penalty
        ok = report.max_error < args.tol
        failed += not ok
        checked = fit_names(report.errors)
        print(f"{name:<38s}{checked:<44s}{report.max_error:>14.2e}  {'ok' if ok else 'FAILED'}")
    total = len(table)
    print(f"{total - failed} of {total} pass (tolerance {args.tol:g}; float64, step 1e-6)")
    return 1 if failed else 0
