"""The chainrule command line: train, evaluate, predict, explain, demo, gradcheck, data, info.

``main(argv)`` returns the exit code, and never lets a traceback reach the terminal:

- 0: success.
- 1: a problem with data, a run folder, a model file or training (a missing or damaged data set,
  a damaged model file or config.json, a .npy that holds NaN, a diverged run), said in plain
  words; also when stdout is closed early (``chainrule data | head -1``: quietly).
- 2: a bad argument or a combination that cannot work or would be ignored: one line naming the
  option, what was expected and what was received.
- 130: Ctrl-C. One line; training stops after the current batch and keeps the model first.
"""
from __future__ import annotations

import os
import sys
import warnings

from ._errors import FileProblem, UsageError, one_line
from ._parser import Parser, given_options
from ._types import PathArg

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> Parser:
    """The argument parser of ``chainrule`` with one subcommand per command module.

    Each command module adds its own subparser (``add_parser``) and sets ``run``, the function
    ``main`` calls with the parsed arguments; ``data`` is defined here. Kept separate from
    ``main`` so that tests and the docs can inspect the options without running anything.

    Returns
    -------
    Parser
        An ``argparse.ArgumentParser`` whose errors are one line naming the option (exit code 2).
    """
    from .. import __version__
    from . import demo, evaluate, explain, export, gradcheck, info, playground, predict, sweep, train

    parser = Parser(prog="chainrule", description="Deep learning on NumPy with hand-derived, checked gradients.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    train.add_parser(sub)
    evaluate.add_parser(sub)
    predict.add_parser(sub)
    explain.add_parser(sub)
    demo.add_parser(sub)
    gradcheck.add_parser(sub)
    sweep.add_parser(sub)
    export.add_parser(sub)
    playground.add_parser(sub)
    info.add_parser(sub)
    d = sub.add_parser("data", help="where each data set is cached, and whether it is present and verified")
    d.add_argument("--data-home", type=PathArg("dir"), default=None,
                   help="data home to inspect (default: $CHAINRULE_DATA or the cache)")
    d.set_defaults(run=lambda args: __import__("chainrule.datasets.__main__", fromlist=["info"]).info(args.data_home))
    return parser


def _say(text: str) -> None:
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):    # stderr closed as well: nothing left to tell
        pass


def _flush_stdout() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()


def _stdout_to_devnull() -> None:
    """After EPIPE, as Python's docs recommend: point stdout at devnull so that the flush at exit
    does not fail a second time (and print 'Exception ignored ... BrokenPipeError')."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):   # stdout without a file descriptor (captured in tests)
        pass


def _one_line_warnings(name: str):
    def show(message, category, filename, lineno, file=None, line=None):
        _say(f"{name}: warning: {one_line(message)}")
    return show


def _command_name(args) -> str:
    words = ["chainrule", args.command] + [getattr(args, k) for k in ("topic", "demo") if getattr(args, k, None)]
    return " ".join(words)


def main(argv=None) -> int:
    """Run one ``chainrule`` command and return its exit code, never a traceback.

    The entry point of the ``chainrule`` script and of ``python -m chainrule``: every failure is
    said in plain words on one line (a data set's missing files on several) and mapped to an
    exit code, listed in the module docstring.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success; 1 for a problem with data, a run folder, a model file or training; 2 for
        a bad argument; 130 after Ctrl-C.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    name = "chainrule"
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:    # --help, --version, or a bad argument (already reported in one line)
            _flush_stdout()
            return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
        name = _command_name(args)
        args.given = given_options(parser, argv)
        args.argv = argv
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(name)
            # the command says so itself, in one line, and exits with 130
            warnings.filterwarnings("ignore", message="training was interrupted", category=UserWarning)
            code = int(args.run(args) or 0)
        _flush_stdout()
        return code
    except KeyboardInterrupt:
        _say(f"{name}: interrupted (Ctrl-C)")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_PROBLEM
    except UsageError as exc:
        _say(f"{name}: error: {one_line(exc)}")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - every other failure is told in words, never as a traceback
        return _report(name, exc)


def _report(name: str, exc: Exception) -> int:
    from ..errors import DatasetCorrupt, DatasetMissing, TrainingDiverged
    from ..io import ModelFileError

    if isinstance(exc, (DatasetMissing, DatasetCorrupt)):
        _say(f"{name}: the data set is not available.\n{exc}")      # names the files and the folder: several lines
    elif isinstance(exc, (ModelFileError, FileProblem, TrainingDiverged)):
        _say(f"{name}: {one_line(exc)}")
    elif isinstance(exc, MemoryError):
        training = name.startswith(("chainrule train", "chainrule sweep"))
        _say(f"{name}: not enough memory for this {'run' if training else 'command'} ({one_line(exc) or 'MemoryError'})"
             + ("; try smaller --hidden or --batch-size" if training else "; give it fewer or smaller inputs"))
    elif isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        _say(f"{name}: {one_line(exc.strerror or exc)}{where}")
    else:
        if os.environ.get("CHAINRULE_DEBUG"):
            import traceback
            traceback.print_exception(exc)
        _say(f"{name}: internal error ({type(exc).__name__}: {one_line(exc)}); please report it "
             "(CHAINRULE_DEBUG=1 shows where it happened)")
    return EXIT_PROBLEM


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
