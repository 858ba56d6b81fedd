"""Every ``.. code-block:: python`` of the user guide and the front page runs, and does what its
comments say.

The ``>>>`` snippets are doctests (test_guide_snippets.py). The guide's other code blocks are the
notes' own pseudo-code (a ``while True`` loop around an ``evaluate_gradient`` the notes never
define) and the five-line training step. Each runs here in a context that gives its free names a
meaning with chainrule's pieces, and the context then checks what the block's comments claim:
the notes' loop, fed chainrule's gradient, finds the notes' optimum; "sample 256 examples" samples
256; after the training step every ``p.grad`` is dL/dp (against central differences) and every
weight moved by -alpha dL/dW. A new code block fails ``test_every_code_block_has_a_context`` until
it gets a context here.

The pages moved out of the README (issue 22) add two: the ``CNNClassifier`` block of networks.rst
(10 epochs of a CNN, with the shapes, the score and the warning it announces) and the ``to_torch`` block of
model-files.rst (PyTorch is never a test dependency: the context gives the block a stand-in for
``torch`` and for ``io.to_torch`` that builds the same network from the same file with chainrule,
so it checks the block's preprocessing against ``chainrule predict``; benchmarks/torch_interop.py
runs the real conversion).
"""
import contextlib
import io as stdio
import os
import re
import sys
import tempfile
import textwrap
import types
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from chainrule import grad, losses, nn, optim
from chainrule.datasets import regression_toy

SOURCE = Path(__file__).resolve().parents[2] / "docs" / "source"
PAGES = sorted(SOURCE.glob("guide/*.rst")) + [SOURCE / "index.rst"]


def code_blocks(page: Path) -> list:
    """The python code blocks of an rst page, dedented (``.. code-block:: python`` and ``.. code:: python``)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if re.match(r"\s*\.\. (code-block|code|sourcecode):: *python3?\s*$", line):
            body = []
            for follow in lines[i + 1:]:
                if follow.strip() and not follow.startswith((" ", "\t")):
                    break
                body.append(follow)
            blocks.append(textwrap.dedent("\n".join(body)).strip("\n"))
    return blocks


class _Stop(Exception):
    """Ends the notes' ``while True`` loop after a given number of steps."""


def _linear_gradient(X, y, weights):
    """dL/d(w, b) of the mean L2 loss of s = w x + b, computed by chainrule's Linear and L2Loss."""
    layer = nn.Linear(X.shape[1], 1, dtype=np.float64)
    layer.weight.value[...] = weights[:-1]
    layer.bias.value[...] = weights[-1:]
    loss = losses.L2Loss()
    loss.forward(layer.forward(X), y.reshape(-1, 1))
    layer.zero_grad()
    layer.backward(loss.backward(), need_input_grad=False)
    return np.concatenate([layer.weight.grad.ravel(), layer.bias.grad])


def _notes_vanilla_gradient_descent(code):
    steps = []

    def evaluate_gradient(loss_fun, data, weights):
        if len(steps) == 3000:
            raise _Stop
        steps.append(1)
        return loss_fun(*data, weights)

    X, y = regression_toy()
    env = {"evaluate_gradient": evaluate_gradient, "loss_fun": _linear_gradient, "data": (X, y),
           "weights": np.zeros(2), "step_size": 0.02}
    with pytest.raises(_Stop):
        exec(code, env)
    np.testing.assert_allclose(env["weights"], [0.5, 2.0], atol=1e-4)   # the notes' optimum w, b


def _notes_minibatch_gradient_descent(code):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10, size=(5000, 1))
    y = 0.5 * X[:, 0] + 2.0 + rng.normal(0, 0.1, size=5000)
    sizes = []

    def sample_training_data(data, n):
        if len(sizes) == 2000:
            raise _Stop
        rows = rng.choice(len(data[0]), size=n, replace=False)
        sizes.append(len(rows))
        return data[0][rows], data[1][rows]

    env = {"sample_training_data": sample_training_data, "data": (X, y), "weights": np.zeros(2),
           "evaluate_gradient": lambda loss_fun, batch, weights: loss_fun(*batch, weights),
           "loss_fun": _linear_gradient, "step_size": 0.01}
    with pytest.raises(_Stop):
        exec(code, env)
    assert set(sizes) == {256}                                  # "sample 256 examples"
    np.testing.assert_allclose(env["weights"], [0.5, 2.0], atol=0.05)


def _training_step(code):
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(4, 6, rng=0, dtype=np.float64), nn.Tanh(),
                        nn.Linear(6, 3, rng=1, dtype=np.float64))
    loss = losses.SoftmaxLogLikelihood()
    x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, size=8)
    for p in net.parameters():
        p.grad = np.full_like(p.value, 7.0)                     # a stale gradient zero_grad must forget
    before = {name: p.value.copy() for name, p in net.named_parameters()}
    numerical = {}
    for name, p in net.named_parameters():
        def L_of(v, p=p):
            saved = p.value.copy()
            p.value[...] = v
            value = loss.forward(net.forward(x), y)
            p.value[...] = saved
            return value
        numerical[name] = grad.numerical_gradient(L_of, p.value)
    L_before = loss.forward(net.forward(x), y)
    env = {"net": net, "loss": loss, "x": x, "y": y, "opt": optim.SGD(net.parameters(), lr=0.1)}
    exec(code, env)
    for name, p in net.named_parameters():
        assert grad.relative_error(p.grad, numerical[name]) < 1e-6, name      # every p.grad = dL/dp
        np.testing.assert_allclose(p.value, before[name] - 0.1 * p.grad, rtol=0, atol=1e-15)  # W <- W - alpha dL/dW
    assert env["L"] == pytest.approx(L_before, rel=1e-12)                   # L = the data loss


def _cnn_classifier(code):
    """networks.rst: the lenet on the digits, 10 epochs as printed, on one BLAS thread (for these small
    layers the fastest on 2 cores, as the command line's measured default: about 2 s)."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits
    env, out = {}, stdio.StringIO()
    with pytest.warns(ConvergenceWarning), contextlib.redirect_stdout(out), threadpool_limits(1):
        exec(code, env)                                                         # "a ConvergenceWarning"
    lines = out.getvalue().splitlines()
    assert env["d"].X_train.shape[1:] == (8, 8)                                # images (N, 8, 8)
    assert env["cnn"].architecture == "lenet"                                  # the lenet
    assert env["cnn"].n_iter_ == 10
    assert lines[0] == "(1, 8, 8) (32, 1, 3, 3)"
    assert abs(float(lines[1]) - 0.98) <= 0.01                                 # about 0.98
    res = env["res"]
    assert (res.architecture, res.image_shape) == ("resnet", (3, 32, 32))     # flat CIFAR rows: 3 x 32 x 32


def _to_torch(code):
    """model-files.rst: a run's model file through ``to_torch``, on the run's preprocessing, gives
    ``chainrule predict``'s labels. The stand-ins: ``torch.no_grad`` and ``torch.from_numpy`` do
    nothing, and ``io.to_torch`` returns the network its own reader (``_network_and_state``) finds in
    the file, built by chainrule in evaluation mode, so the block's preprocessing is what is tested."""
    from chainrule import io, registry
    from chainrule.cli import main
    from chainrule.datasets import load_digits
    from chainrule.io.pytorch import _network_and_state

    def chainrule_network(path):
        spec, state = _network_and_state(path)
        net = registry.build_module(spec)
        net.load_state_dict(state)
        return lambda x: net.eval().forward(x)

    fake_torch = types.ModuleType("torch")
    fake_torch.no_grad = contextlib.nullcontext
    fake_torch.from_numpy = lambda a: a
    before = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            with contextlib.redirect_stdout(stdio.StringIO()), contextlib.redirect_stderr(stdio.StringIO()):
                assert main(["train", "--quiet", "--epochs", "2"]) == 0            # writes runs/digits-mlp
            np.save("test.npy", load_digits().X_test)
            out = stdio.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["predict", "runs/digits-mlp", "test.npy"]) == 0
            predicted = [int(ln.split(":")[1].split()[0]) for ln in out.getvalue().splitlines()]
            env = {}
            with mock.patch.dict(sys.modules, {"torch": fake_torch}), mock.patch.object(io, "to_torch", chainrule_network):
                exec(code, env)
        finally:
            os.chdir(before)
    assert env["labels"].tolist() == predicted                                  # = chainrule predict's labels
    assert len(predicted) == 360 and env["X"].dtype == np.float32


#: the first line of each code block -> the function that runs it and checks its comments
CONTEXTS = {
    "while True:\n    weights_grad = evaluate_gradient(loss_fun, data, weights)": _notes_vanilla_gradient_descent,
    "while True:\n    data_batch = sample_training_data(data, 256)": _notes_minibatch_gradient_descent,
    "out = net.forward(x)": _training_step,
    "from chainrule.datasets import load_digits\nfrom chainrule.models import CNNClassifier": _cnn_classifier,
    "import torch\nfrom chainrule import io": _to_torch,
}


def _context(code):
    for start, run in CONTEXTS.items():
        if code.startswith(start):
            return run
    return None


ALL_BLOCKS = [(page, code) for page in PAGES for code in code_blocks(page)]


def test_the_pages_have_code_blocks():
    assert len(ALL_BLOCKS) >= 3


def test_every_code_block_has_a_context():
    missing = [f"{page.name}: {code.splitlines()[0]}" for page, code in ALL_BLOCKS if _context(code) is None]
    assert not missing, f"code blocks this test cannot run yet (add a context to CONTEXTS): {missing}"


@pytest.mark.parametrize("page, code", ALL_BLOCKS,
                         ids=[f"{p.stem}-{i}" for i, (p, _) in enumerate(ALL_BLOCKS)])
def test_code_block_runs_and_does_what_it_says(page, code):
    run = _context(code)
    if run is None:
        pytest.fail(f"{page.name}: no context for this block (see test_every_code_block_has_a_context)")
    run(code)

