"""Every bad command-line input exits with code 2 (1 for a file whose contents cannot be used),
one line on stderr, and never a traceback.

The rows are built from the argument parser itself: every option and positional with a checked
type gets values outside its declared range, every choice an unknown name, every path a file
where a folder is expected and so on; a new option therefore gets its bad values without anyone
writing them down. The audit's hand-written rows come on top. Each row runs twice: in-process
through ``main(argv)`` (fast; checks the message names the option and the value) and through the
installed ``chainrule`` script in parallel subprocesses (checks what a user sees)."""
import argparse
import concurrent.futures
import subprocess
from dataclasses import dataclass, field

import pytest

from chainrule.cli import build_parser, main
from chainrule.cli._types import Matrix, Number, Numbers, PathArg, Sizes


@dataclass
class Row:
    argv: list
    code: int = 2
    says: list = field(default_factory=list)     # fragments the message must contain (in-process check)
    one_line: bool = True
    source: tuple = ()                           # (command words, option) of a row built from the parser

    def __str__(self):
        return " ".join(self.argv)


def commands(parser, words=()):
    """(words, parser) for every command that runs something: 'train', 'explain softmax'..."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs and words:
        yield list(words), parser
    for action in subs:
        for name, child in action.choices.items():
            yield from commands(child, (*words, name))


def _beyond(bound, kind, direction):
    step = 1 if kind is int else max(1.0, abs(bound))
    value = bound + direction * step
    return str(int(value)) if kind is int else repr(float(value))


def number_values(t: Number) -> list:
    bad = ["abc", "nan", "inf", "-inf", ""]
    if t.kind is int:
        bad.append("1.5")
    if t.low is not None:
        bad.append(repr(t.low) if t.low_open else _beyond(t.low, t.kind, -1))
    if t.high is not None:
        bad.append(repr(t.high) if t.high_open else _beyond(t.high, t.kind, +1))
        bad.append(str(10**30) if t.kind is int else "1e300")
    return bad


def list_values(t: Numbers) -> list:
    ok = "1" if t.item.kind is int or t.item.accepts(1.0) else repr(t.item.low)
    bad = ["abc", "", f"{ok},nan", f"{ok},inf"]
    bad += [f"{ok},{v}" for v in number_values(t.item) if v not in ("abc", "", "nan", "inf", "-inf")]
    if t.count is not None:
        bad += [",".join([ok] * (t.count - 1)), ",".join([ok] * (t.count + 1))]
    elif t.min_count > 1:
        bad.append(",".join([ok] * (t.min_count - 1)))
    return bad


def bad_values(action, files) -> list:
    t = action.type
    if isinstance(t, Number):
        return number_values(t)
    if isinstance(t, Numbers):
        return list_values(t)
    if isinstance(t, Matrix):
        return ["abc", "1,2;3", "1,nan;2,3", "1,2;inf,4", "1e300,1;2,3", ""]
    if isinstance(t, Sizes):
        return ["0", "-1", "abc", "", "1.5", "64,0", str(t.high + 1)]
    if isinstance(t, PathArg):
        return {"out_dir": [str(files["file"]), str(files["file"] / "sub")],
                "dir": [str(files["file"]), str(files["file"] / "sub")],
                "out_file": [str(files["folder"]), str(files["file"] / "m.onnx")],
                "in_file": [str(files["missing"]), str(files["folder"])],
                "run": [str(files["missing"]), str(files["file"]), ""]}[t.kind]
    if action.choices is not None:
        return ["no-such-choice"]
    return []


PLACEHOLDER = {"run": "run", "in_file": "npy"}     # a valid value for each required positional


def placeholder(action, files) -> str:
    return str(files[PLACEHOLDER[action.type.kind]])


def generated_rows(files) -> list:
    rows = []
    for words, parser in commands(build_parser()):
        positionals = [a for a in parser._actions if not a.option_strings]
        required = [a for a in positionals if a.nargs in (None, "+")]
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            name = "/".join(action.option_strings) or action.metavar or action.dest
            for value in bad_values(action, files):
                if action.option_strings:
                    args = [f"{action.option_strings[-1]}={value}", "--", *[placeholder(a, files) for a in required]]
                else:      # after '--', so that '-inf' is a value and not an option
                    args = ["--", *[value if a is action else placeholder(a, files) for a in positionals
                                    if a is action or a in required]]
                rows.append(Row([*words, *args], 2, [f"argument {name}", repr(value)], source=(*words, name)))
    return rows


def audit_rows(f) -> list:
    """The audit's rows and the combinations the brief names, with their exit codes."""
    run, blobs, npy = str(f["run"]), str(f["blobs_run"]), str(f["npy"])
    R = Row
    return [
        R(["train", "--alpha", "-1"]), R(["train", "--alpha", "nan"]), R(["train", "--alpha", "inf"]),
        R(["train", "--lr", "inf"]), R(["train", "--seed", "-1"]), R(["train", "--out", str(f["file"])], 2, ["is a file"]),
        R(["explain", "chain-rule", "--x", "1e200"], 2, ["--x", "1e200"]),
        R(["explain", "jacobian", "--at", "nan,1"], 2, ["--at", "nan,1"]),
        R(["explain", "chain-rule", "--x", "-1e200"], 2, ["--x", "-1e200"]), R(["train", "--lr", "-inf"], 2, ["'-inf'"]),
        R(["demo", "overfitting", "--orders", "0,3"], 2, ["--orders", "0,3"]),
        R(["explain", "softmax", "1"], 2, ["at least two scores"]),
        R(["explain", "softmax", "1", "2", "--label", "5"], 2, ["--label", "5"]),
        R(["explain", "hinge", "--labels", "0,1"], 2, ["--labels", "one label per row"]),
        R(["explain", "backprop", "--W", "1,2"], 2, ["--W"]),
        R(["explain", "l1", "--target", "1,2", "--prediction", "1"], 2, ["same length"]),
        R(["explain", "cross-entropy", "--p", "0,1", "--label", "0"], 2, ["probability 0"]),
        # files given to predict whose contents cannot be used: exit 1, naming the file
        R(["predict", run, str(f["nan_npy"])], 1, ["nan.npy", "NaN"]),
        R(["predict", run, str(f["empty_npy"])], 1, ["empty.npy", "empty"]),
        R(["predict", run, str(f["wrong_shape_npy"])], 1, ["wrong-shape.npy", "shape"]),
        R(["predict", run, str(f["pickle_npy"])], 1, ["objects.npy"]),
        R(["predict", run, str(f["truncated_npy"])], 1, ["truncated.npy"]),
        R(["predict", run, str(f["fake_png"])], 1, ["fake.png", "not a readable image"]),
        R(["predict", run, str(f["bomb_png"])], 1, ["bomb.png", "refused before decoding"]),
        R(["predict", run, str(f["big_png"])], 1, ["big.png", "7,000 x 7,000"]),
        R(["predict", blobs, str(f["fake_png"])], 2, ["give a .npy array"]),
        R(["predict", blobs, npy], 1, ["rows of 2 numbers"]),
        # damaged or incomplete run folders: exit 1, one line naming config.json or the model file
        R(["evaluate", str(f["bad_json_run"])], 1, ["config.json", "not valid JSON"]),
        R(["evaluate", str(f["no_dataset_run"])], 1, ["config.json", "'dataset'"]),
        R(["evaluate", str(f["wrong_types_run"])], 1, ["config.json", "class_names"]),
        R(["evaluate", str(f["bad_shape_run"])], 1, ["config.json", "image_shape"]),
        R(["evaluate", str(f["list_config_run"])], 1, ["config.json", "JSON object"]),
        R(["predict", str(f["bad_json_run"]), npy], 1, ["config.json", "not valid JSON"]),
        R(["evaluate", str(f["no_model_run"])], 1, ["model.safetensors"]),
        R(["evaluate", str(f["broken_model_run"])], 1, ["model.safetensors", "damaged"]),
        R(["evaluate", str(f["folder"])], 2, ["no config.json"]),
        # a data set that does not fit the model, refused before any data is read
        R(["evaluate", run, "--dataset", "mnist10k", "--data-dir", str(f["empty_data"])], 2, ["28x28", "8x8"]),
        R(["evaluate", run, "--dataset", "xor"], 2, ["--dataset xor"]),
        R(["evaluate", blobs, "--dataset", "xor"], 2, ["2 classes", "3 classes"]),
        R(["evaluate", str(f["lone_model"])], 2, ["give --dataset"]),
        # options that would be ignored
        R(["train", "--penalty", "maxnorm", "--alpha", "0.01"], 2, ["--alpha has no effect", "--max-norm"]),
        R(["train", "--penalty", "none", "--alpha", "0.01"], 2, ["--alpha has no effect"]),
        R(["train", "--max-norm", "2"], 2, ["--max-norm has no effect"]),
        R(["train", "--model", "linear", "--hidden", "32"], 2, ["--hidden has no effect", "linear"]),
        R(["train", "--model", "linear", "--dropout", "0.5"], 2, ["--dropout has no effect"]),
        R(["train", "--model", "linear", "--activation", "tanh"], 2, ["--activation has no effect"]),
        R(["train", "--model", "linear", "--batch-norm"], 2, ["--batch-norm has no effect"]),
        R(["train", "--early-stopping", "3", "--validation-fraction", "0"], 2, ["--early-stopping", "--validation-fraction 0"]),
        R(["train", "--momentum", "0.5"], 2, ["--momentum has no effect with --optimizer adam"]),
        R(["train", "--batch-norm", "--batch-size", "1"], 2, ["--batch-norm needs --batch-size 2"]),
        R(["train", "--data-dir", str(f["folder"])], 2, ["--data-dir has no effect with --dataset digits"]),
        R(["train", "--dataset", "xor", "--no-download"], 2, ["--no-download has no effect"]),
        R(["train", "--dataset", "xor", "--features", "hog"], 2, ["--features hog needs images"]),
        R(["train", "--dataset", "mnist", "--features", "poly2"], 2, ["--features poly2 on 784 inputs"]),
        R(["evaluate", run, "--no-download"], 2, ["--no-download has no effect with digits"]),
        R(["predict", run, npy, "--invert", "yes"], 2, ["--invert has no effect"]),
        R(["predict", str(f["hinge_run"]), str(f["points_npy"]), "--top", "2"], 2, ["--top has no effect"]),
        R(["demo", "handcrafted", "--data-dir", str(f["folder"])], 2, ["--data-dir has no effect"]),
        # usage mistakes argparse catches itself
        R([]), R(["frobnicate"]), R(["train", "--no-such-option"]), R(["train", "surplus"]), R(["predict", run]),
        R(["explain"]), R(["demo"]), R(["train", "--alpha"]),
        # a data set that is not there: exit 1; the message names the files and the folder (several lines)
        R(["train", "--dataset", "mnist", "--data-dir", str(f["empty_data"]), "--no-download"], 1,
          ["t10k-labels-idx1-ubyte.gz"], one_line=False),
    ]


@pytest.fixture(scope="module")
def rows(files):
    seen, out = set(), []
    for row in generated_rows(files) + audit_rows(files):
        if tuple(row.argv) not in seen:
            seen.add(tuple(row.argv))
            out.append(row)
    return out


def test_the_parser_gives_many_rows_and_every_command_some(rows, files):
    generated = generated_rows(files)
    assert len(generated) >= 200 and len(rows) >= 260
    for words, _ in commands(build_parser()):
        assert any(r.argv[:len(words)] == words for r in generated), words


def test_every_numeric_option_declares_its_range():
    """An option typed plain int or float would escape the rows above (nan, inf, -1 pass float)."""
    for words, parser in commands(build_parser()):
        for action in parser._actions:
            assert action.type not in (int, float), (words, action.dest)
            if isinstance(action.default, (int, float)) and not isinstance(action.default, bool):
                assert action.type is not None, (words, action.dest)


def _check(row, code, err, out=""):
    lines = err.strip().splitlines()
    assert code == row.code, (str(row), code, err)
    assert "Traceback" not in err and "Traceback" not in out, (str(row), err)
    if row.one_line:
        assert len(lines) == 1, (str(row), err)
    return err


def test_in_process(rows, capsys):
    for row in rows:
        code = main(row.argv)
        captured = capsys.readouterr()
        err = _check(row, code, captured.err, captured.out)
        for fragment in row.says:
            assert fragment in err, (str(row), fragment, err)


def through_the_script(rows) -> list:
    """What the subprocess test runs: every hand-written row, and for every option of every
    command three of its bad values (the first, a middle one and the last; all of them run
    in-process above). About 230 processes, some 20 s on 2 cores."""
    by_option = {}
    for row in rows:
        by_option.setdefault(row.source or id(row), []).append(row)
    picked = []
    for source, group in by_option.items():
        picked += group if not isinstance(source, tuple) else list({id(r): r for r in
                                                                    (group[0], group[len(group) // 2], group[-1])}.values())
    return picked


@pytest.mark.slow
def test_through_the_installed_script(rows, chainrule_exe, offline_env):
    chosen = through_the_script(rows)
    assert len(chosen) >= 150

    def run(row):
        done = subprocess.run([chainrule_exe, *row.argv], capture_output=True, text=True, timeout=120,
                              env=offline_env, stdin=subprocess.DEVNULL)
        return row, done

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for row, done in pool.map(run, chosen):
            _check(row, done.returncode, done.stderr, done.stdout)
