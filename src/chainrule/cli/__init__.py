"""The chainrule command line: train, evaluate, predict, explain, demo, gradcheck, data.

``main(argv)`` returns the exit code: 0 success, 1 a problem with data, a model file or training
(reported in plain words, no traceback), 2 a bad argument (one line), 130 Ctrl-C.
"""
from __future__ import annotations

import sys

from ..errors import DatasetCorrupt, DatasetMissing, TrainingDiverged
from ._parser import Parser, UsageError


def build_parser() -> Parser:
    from . import demo, evaluate, explain, export, gradcheck, sweep, train

    parser = Parser(prog="chainrule", description="Deep learning on NumPy with hand-derived, checked gradients.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    train.add_parser(sub)
    evaluate.add_parsers(sub)
    explain.add_parser(sub)
    demo.add_parser(sub)
    gradcheck.add_parser(sub)
    sweep.add_parser(sub)
    export.add_parser(sub)
    d = sub.add_parser("data", help="where each data set is cached, and whether it is present and verified")
    d.add_argument("--data-home", default=None)
    d.set_defaults(run=lambda args: __import__("chainrule.datasets.__main__", fromlist=["info"]).info(args.data_home))
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (already reported in one line)
        return int(exc.code or 0)
    from ..io import ModelFileError
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        print(f"chainrule {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (DatasetMissing, DatasetCorrupt) as exc:
        print(f"chainrule {args.command}: the data set is not available.\n{exc}", file=sys.stderr)
        return 1
    except ModelFileError as exc:
        print(f"chainrule {args.command}: {exc}", file=sys.stderr)
        return 1
    except TrainingDiverged as exc:
        print(f"chainrule {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
