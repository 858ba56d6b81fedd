"""Estimators travel: fitted estimators, pipelines and networks survive pickle and joblib with
identical predictions (parallel searches copy them so), without the forward cache; and chainrule
itself never unpickles anything on its own paths."""
import pickle
import re
import tokenize
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from chainrule import nn
from chainrule.datasets import Flatten, ScaleToUnit
from chainrule.models import LinearClassifier, LinearRegression, MLPClassifier, MLPRegressor

SRC = Path(__file__).resolve().parents[1] / "src" / "chainrule"


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500].astype(np.float32), y[:500]


def _fitted(kind, X, y):
    flat = X / 16
    if kind == "linear":
        return LinearClassifier(loss="hinge", max_iter=3, random_state=0).fit(flat, y), flat
    if kind == "mlp":
        return MLPClassifier((24, 12), dropout=0.3, batch_norm=True, max_iter=3, random_state=0).fit(flat, y), flat
    if kind == "regressor":
        return MLPRegressor((8,), max_iter=3, random_state=0).fit(flat, flat[:, :2]), flat
    if kind == "lstsq":
        return LinearRegression(solver="lstsq").fit(flat, y.astype(float)), flat
    images = X.reshape(-1, 8, 8)
    pipe = Pipeline([("scale", ScaleToUnit(16)), ("flatten", Flatten()), ("std", StandardScaler()),
                     ("model", MLPClassifier((16,), max_iter=3, random_state=0))])
    return pipe.fit(images, y), images


def _outputs(model, X):
    out = [model.predict(X)]
    if hasattr(model, "predict_proba"):
        out.append(model.predict_proba(X))
    return out


@pytest.mark.parametrize("kind", ["linear", "mlp", "regressor", "lstsq", "pipeline"])
@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_fitted_estimators_survive_a_round_trip(kind, how, digits, tmp_path):
    model, X = _fitted(kind, *digits)
    if how == "pickle":
        copy = pickle.loads(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / "model.joblib")
        copy = joblib.load(tmp_path / "model.joblib")
    assert copy is not model
    for a, b in zip(_outputs(model, X), _outputs(copy, X)):
        np.testing.assert_array_equal(a, b)                    # identical, not close


def test_a_copy_keeps_training_as_the_original(digits):
    """The optimizer state, the generator and the weights travel together (one pickle keeps their
    shared references): partial_fit on the copy gives the original's bits."""
    model, X = _fitted("mlp", *digits)
    copy = pickle.loads(pickle.dumps(model))
    model.partial_fit(X, digits[1])
    copy.partial_fit(X, digits[1])
    np.testing.assert_array_equal(model.predict_proba(X), copy.predict_proba(X))


def test_pickles_leave_the_forward_cache_behind():
    net = nn.Sequential(nn.Linear(64, 256, rng=0), nn.ReLU(), nn.Dropout(0.5, rng=1), nn.Linear(256, 10, rng=2))
    x = np.random.default_rng(0).standard_normal((2000, 64)).astype(np.float32)
    net.forward(x)
    assert all(m._cache is not None for m in net)               # a batch of activations is held
    data = pickle.dumps(net)
    assert len(data) < 200_000                                 # the weights (~85 KB), not 2000 x 256 activations
    copy = pickle.loads(data)
    assert all(m._cache is None for m in copy.modules())
    assert all(m._cache is not None for m in net)               # pickling did not touch the original
    net.eval(), copy.eval()
    np.testing.assert_array_equal(net.forward(x), copy.forward(x))
    assert copy[0].weight.value.flags.f_contiguous              # the weight's fast layout travels too


# ---- chainrule never unpickles ------------------------------------------------------------------
#: calls that run a pickle (or let NumPy do so); on chainrule's own paths a line may hold one only
#: as a documented restricted use, marked '# safe: why'
_UNPICKLING = re.compile(r"\b(pickle\.loads?|pickle\._?Unpickler(?!\.)|cPickle|joblib\.load|cloudpickle\.loads?|"
                         r"dill\.loads?|marshal\.loads?|shelve\.open)\b|allow_pickle\s*=\s*True")


def _code_lines(path: Path):
    """(line number, code without strings and comments, the raw line) of a Python file."""
    raw = path.read_text(encoding="utf-8").splitlines()
    code: dict[int, list[str]] = {}
    with path.open("rb") as f:
        for tok in tokenize.tokenize(f.readline):
            if tok.type in (tokenize.NAME, tokenize.OP):
                code.setdefault(tok.start[0], []).append(tok.string)
    for n, parts in code.items():
        yield n, "".join(p if p in ".=()" else f" {p} " for p in parts).replace(" . ", "."), raw[n - 1]


def test_chainrule_never_unpickles_on_its_own_paths():
    found, marked = [], []
    for path in sorted(SRC.rglob("*.py")):
        for n, code, line in _code_lines(path):
            if _UNPICKLING.search(code.replace(" ", "")) or _UNPICKLING.search(code):
                (marked if "# safe:" in line else found).append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert not found, "unpickling on chainrule's own paths:\n" + "\n".join(found)
    assert all("datasets/unpickle.py" in m for m in marked), marked     # the one restricted unpickler (CIFAR)


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle, numpy as np\nx = pickle.loads(b'')\ny = np.load('a', allow_pickle = True)\n"
                   "s = 'pickle.loads in a string is fine'  # and pickle.load in a comment\n")
    hits = [n for n, code, _ in _code_lines(bad) if _UNPICKLING.search(code.replace(" ", "")) or _UNPICKLING.search(code)]
    assert hits == [2, 3]


def test_io_does_not_import_the_estimators_or_sklearn():
    """Model files need neither the estimators, scikit-learn nor the onnx package (ONNX export imports
    onnx when it is called)."""
    import subprocess
    import sys
    code = "import sys, chainrule.io; print(sorted(m for m in sys.modules if m.startswith(('sklearn', 'onnx', " \
           "'chainrule.models', 'safetensors'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_guide_says_model_files_are_the_safe_way():
    """The README's "Scaling out" section moved to the guide's model-files page (issue 22)."""
    text = (SRC.parents[1] / "docs" / "source" / "guide" / "model-files.rst").read_text(encoding="utf-8")
    section = text[text.index("Estimators travel; model files are the safe way to share"):]
    assert "safetensors" in section and "never load pickles" in section.lower()
