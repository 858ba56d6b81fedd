"""chainrule sweep: cross-validated grid or random search over an estimator's hyperparameters, on
this machine's cores or a Dask cluster, resumable after Ctrl-C or a crash (``chainrule.sweep``)."""
from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write_text
from . import data
from ._errors import one_line
from ._parser import UsageError
from ._settings import run_config
from ._types import POSITIVE_INT, SEED, Number, PathArg

_DISTRIBUTION = re.compile(r"^(loguniform|uniform|randint)\((.*)\)$")


def add_parser(sub):
    p = sub.add_parser(
        "sweep", help="cross-validated hyperparameter search (grid or random) on loky or a Dask cluster",
        description="Cross-validate every combination of --param values (or --random N draws) of a model's "
                    "hyperparameters on the training split, refit the best and test it. Writes results.csv and "
                    "results.json (one row per fit), sweep.png, model.safetensors, config.json and the journal "
                    "(sweep.json, journal/) to --out; --resume continues a stopped sweep without refitting "
                    "what is done. Example: chainrule sweep --param alpha=1e-4,1e-2 --param "
                    "'hidden_layer_sizes=(32,),(64,)' --set max_iter=20 --cv 3")
    p.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="a hyperparameter and its values (Python literals: 0.01, (64,32), 'relu', None); with "
                        "--random also loguniform(A,B), uniform(A,B), randint(A,B). Repeat for each one")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a fixed hyperparameter of the model (repeatable), e.g. max_iter=20")
    p.add_argument("--model", default="mlp", choices=("linear", "mlp"), help="linear classifier or network")
    p.add_argument("--dataset", default="digits", choices=data.ALL, help="data set (digits needs no network)")
    data.add_file_options(p, "folder holding the data set's files (default: the cache)", dir_kind="dir")
    p.add_argument("--max-samples", type=POSITIVE_INT, default=None,
                   help="use the first N training samples (default: all of them)")
    p.add_argument("--cv", type=Number(int, 2, 1000), default=5, help="folds of cross-validation")
    p.add_argument("--random", type=POSITIVE_INT, default=None, metavar="N",
                   help="random search: N draws from the --param values (default: the whole grid)")
    p.add_argument("--scoring", default=None, help="a scikit-learn scoring name (default: the model's accuracy)")
    p.add_argument("--n-jobs", type=Number(int, 1, 1024), default=None,
                   help="processes on this machine (default: every core)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run the fits on this Dask scheduler (default: $CHAINRULE_SCHEDULER, else this machine)")
    p.add_argument("--blas-threads", type=Number(int, 1, 256), default=1, help="BLAS threads per fit")
    p.add_argument("--resume", action="store_true", help="continue the sweep journaled in --out")
    p.add_argument("--seed", type=SEED, default=0, help="the models' random_state and the random search's seed")
    p.add_argument("--out", type=PathArg("out_dir"), default=None,
                   help="output folder (default: runs/sweep-<dataset>-<model>)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(run=run)
    return p


# ---- values -------------------------------------------------------------------------------------
def split_top_level(text: str) -> list[str]:
    """'1,(2,3),"a,b"' -> ['1', '(2,3)', '"a,b"']: commas inside brackets or quotes do not split."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def literal(text: str):
    """A Python literal (numbers, tuples, None, True, quoted strings), else the text itself."""
    lowered = {"none": None, "null": None, "true": True, "false": False}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _distribution(kind, args, option):
    from scipy import stats

    try:
        a, b = (float(v) for v in split_top_level(args))
    except ValueError:
        raise UsageError(f"--param {option}: {kind} takes two numbers, e.g. {kind}(1e-4,1e-1)") from None
    if not a < b or (kind == "loguniform" and a <= 0):
        raise UsageError(f"--param {option}: {kind}(A, B) needs A < B" + (" and A > 0" if kind == "loguniform" else ""))
    if kind == "loguniform":
        return stats.loguniform(a, b)
    if kind == "randint":
        return stats.randint(int(a), int(b) + 1)
    return stats.uniform(a, b - a)


def parse_assignment(text: str, option: str, many: bool):
    if "=" not in text:
        raise UsageError(f"{option} expects NAME=VALUE{',VALUE...' if many else ''}; got {text!r}")
    name, _, values = text.partition("=")
    name = name.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"{option}: {name!r} is not a parameter name")
    if not many:
        return name, literal(values.strip())
    m = _DISTRIBUTION.match(values.strip())
    if m:
        return name, ("distribution", m.group(1), m.group(2))
    items = [literal(v) for v in split_top_level(values)]
    if not items:
        raise UsageError(f"{option} {name}: give at least one value")
    return name, items


# ---- the estimator ------------------------------------------------------------------------------
def _pipeline(args, split):
    from sklearn.pipeline import Pipeline

    from ..datasets import Flatten, ScaleToUnit
    from ..models import LinearClassifier, MLPClassifier

    est = (LinearClassifier if args.model == "linear" else MLPClassifier)(random_state=args.seed)
    steps = [("scale", ScaleToUnit(split.pixel_max)), ("flatten", Flatten())] if split.kind == "image" else []
    return Pipeline(steps + [("model", est)])


def _full_name(pipe, name: str, option: str) -> str:
    """'alpha' -> 'model__alpha' (names of the model need no prefix); unknown names are refused."""
    known = pipe.get_params(deep=True)
    for candidate in (name, f"model__{name}"):
        if candidate in known:
            return candidate
    model_names = sorted(pipe.named_steps["model"].get_params(deep=False))
    raise UsageError(f"{option} {name}: the model has no such hyperparameter; it has: {', '.join(model_names)}")


def _check_scoring(name) -> None:
    """--scoring must be one of scikit-learn's scoring names: checked before any data is loaded."""
    if name is None:
        return
    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if name not in names:
        import difflib
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UsageError(f"--scoring {name}: not a scikit-learn scoring name; {hint}"
                         "(python -c 'import sklearn.metrics; print(sklearn.metrics.get_scorer_names())' lists them)")


def _kind_of(value) -> str | None:
    """'number', 'text', 'flag', 'sizes' or None (anything: a default of None says nothing)."""
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (tuple, list)):
        return "sizes"
    return None


# what a parameter whose default is of a kind accepts: a number where the default is a number (so a
# typo such as alpha=1e-4x is caught), True/False or a number (verbose) where it is a flag, a tuple
# or a number (hidden_layer_sizes=64) where it is a tuple; a text default is often a sentinel such
# as batch_size='auto' beside numbers, so it accepts anything (the model's own checks decide)
_ACCEPTS = {"number": ("number",), "flag": ("flag", "number"), "sizes": ("sizes", "number")}
_NOUN = {"number": "a number", "flag": "True or False", "sizes": "a tuple like (64,) or (128, 64)"}


def _check_value_types(pipe, name: str, values, option: str) -> None:
    """Each value of --param/--set is of a kind the model's default allows (``_ACCEPTS``), so that a
    typo is refused before the first fit. None, and anything for a parameter whose default is None
    or a text, are left to the model's own checks."""
    expected = _kind_of(pipe.get_params(deep=True)[name])
    if expected not in _ACCEPTS:
        return
    for v in values:
        got = _kind_of(v)
        if v is None or got in _ACCEPTS[expected]:
            continue
        shown = name.removeprefix("model__")
        raise UsageError(f"{option} {shown}: expected {_NOUN[expected]} (its default is "
                         f"{pipe.get_params(deep=True)[name]!r}); got {v!r}")


def run(args) -> int:
    from ..io.lock import PathLocked
    from ..sweep import SchedulerError, SweepFailed, SweepInterrupted, SweepMismatch, sweep

    if not args.param:
        raise UsageError("give at least one --param NAME=V1,V2,... to sweep")
    grid_raw = dict(parse_assignment(t, "--param", True) for t in args.param)
    fixed_raw = dict(parse_assignment(t, "--set", False) for t in args.set)
    if any(isinstance(v, tuple) and v and v[0] == "distribution" for v in grid_raw.values()) and not args.random:
        raise UsageError("distributions (loguniform, uniform, randint) need --random N")
    _check_scoring(args.scoring)
    split = data.load(args.dataset, args.data_dir, download=not args.no_download, seed=args.seed)
    X, y = split.X_train, split.y_train
    if args.max_samples:
        X, y = X[:args.max_samples], y[:args.max_samples]
    pipe = _pipeline(args, split)
    fixed = {_full_name(pipe, k, "--set"): v for k, v in fixed_raw.items()}
    for k, v in fixed.items():
        _check_value_types(pipe, k, [v], "--set")
    grid = {}
    for k, v in grid_raw.items():
        full = _full_name(pipe, k, "--param")
        if isinstance(v, tuple) and v and v[0] == "distribution":
            grid[full] = _distribution(v[1], v[2], k)
        else:
            _check_value_types(pipe, full, v, "--param")
            grid[full] = v
    try:
        pipe.set_params(**fixed)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--set: {exc}") from None
    out = Path(args.out or f"runs/sweep-{args.dataset}-{args.model}")
    try:
        result = sweep(pipe, grid, X, y, n_iter=args.random, cv=args.cv, scoring=args.scoring, out=out,
                       resume=args.resume, scheduler=args.scheduler, n_jobs=args.n_jobs,
                       blas_threads=args.blas_threads, random_state=args.seed, progress=not args.quiet)
    except SweepMismatch as exc:
        raise UsageError(str(exc)) from None
    except SweepFailed as exc:                  # every fit failed: results.csv/json say which and why
        print(f"chainrule sweep: {one_line(exc)} (every fit is in {out}/results.csv)", file=sys.stderr)
        return 1
    except (SchedulerError, SweepInterrupted, PathLocked) as exc:     # PathLocked: another sweep writes --out
        print(f"chainrule sweep: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        done = len([n for n in os.listdir(out / "journal") if n.endswith(".json")]) if (out / "journal").is_dir() else 0
        print(f"chainrule sweep: interrupted; {done} finished fits are in the journal in {out}: run the same "
              "command with --resume to finish the others", file=sys.stderr)
        return 130
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _report(args, split, result, out, (X, y))
    return 0


def _report(args, split, result, out, train):
    from ..sweep.journal import MAX_ATTEMPTS
    from ..sweep.search import _shown
    from ..sweep.table import python

    best = result.best_estimator
    test_acc = float(np.mean(np.asarray(best.predict(split.X_test)) == split.y_test)) if best is not None else None
    sweep = {"best_params": {k: repr(python(v)) for k, v in result.best_params.items()},
             "best_cv_score": result.best_score, "fits": len(result.rows), "failed_fits": result.n_failed,
             "first_error": result.first_error, "where": result.where}
    config = run_config(args, split, len(train[1]), 0, sweep=sweep,
                        metrics={"cv_score": result.best_score, "test_accuracy": test_acc})
    atomic_write_text(out / "config.json", json.dumps(config, indent=1))
    print(f"best: {_shown(result.best_params)}  (mean {args.cv}-fold score {result.best_score:.4f})")
    if test_acc is not None:
        print(f"best model refitted on all {len(train[1]):,} training samples: test accuracy {test_acc:.4f}")
    print(f"{len(result.rows)} fits ({result.n_fitted} run now, {result.n_from_journal} from the journal) "
          f"in {result.seconds:.1f} s on {result.where}")
    print(f"in {out}/: {', '.join(result.files + ['config.json'])}, journal/")
    if result.n_failed:
        sys.stdout.flush()
        print(f"chainrule sweep: {result.n_failed} of {len(result.rows)} fits failed (their rows in results.csv say "
              f"why; --resume tries them again, each at most {MAX_ATTEMPTS} times in all). The first: "
              f"{one_line(result.first_error)}", file=sys.stderr)
