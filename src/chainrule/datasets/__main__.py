"""python -m chainrule.datasets info: each data set, where it is cached, present and verified."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .download import status
from .spec import CIFAR10_BINARY, CIFAR10_PYTHON, MNIST, data_home


def info(home=None, out=None) -> int:
    """Print every data set's folder (``<home>/<name>``) and the state of each of its files."""
    out = sys.stdout if out is None else out       # read at the call: a default would keep the stdout of import time
    root = Path(home) if home is not None else data_home()
    print(f"data home: {root}  (set CHAINRULE_DATA to move it)", file=out)
    print("digits: bundled with scikit-learn (1,797 images of 8 x 8); always present, no download", file=out)
    for spec in (MNIST, CIFAR10_BINARY, CIFAR10_PYTHON):
        folder = root / spec.name
        rows = status(spec, folder)
        ok = all(s == "verified" for _, s in rows)
        state = "present and verified" if ok else ("missing" if all(s == "missing" for _, s in rows) else "incomplete")
        print(f"{spec.name} ({spec.files[0].name if len(spec.files) == 1 else 'IDX files'}): {state}", file=out)
        print(f"  folder: {folder}", file=out)
        for remote, s in rows:
            print(f"  {remote.name:<28s} {remote.size:>12,} bytes  {s}", file=out)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chainrule.datasets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="list the data sets, their folders, and whether they are present and verified")
    p.add_argument("--data-home", default=None, help="data home to inspect instead of $CHAINRULE_DATA or the cache")
    args = parser.parse_args(argv)
    return info(args.data_home)


if __name__ == "__main__":
    sys.exit(main())
