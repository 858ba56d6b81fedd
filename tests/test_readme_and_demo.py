"""The README's Python examples run as printed, quietly, and do what their comments say; `make demo`
runs the default training; the README is short and says how its commands reach the PATH.

Issue 22: every comment of a README snippet that states a result is checked here by an assertion
(criterion 2), every snippet runs with warnings turned into errors (criterion 8: no
ConvergenceWarning), and the README says ``. .venv/bin/activate`` before its first ``chainrule``
command, which works because ``make demo`` creates ``.venv/bin/activate`` and ``.venv/bin/chainrule``
(criterion 3; read from the Makefile and pyproject.toml, no fresh ``make`` is run).
"""
import pathlib
import re
import sys
import warnings

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _run(block, namespace):
    """exec one README block with every warning an error (a ConvergenceWarning fails the test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(block, str(README), "exec"), namespace)


def test_readme_is_at_most_300_lines():
    assert len(README.read_text().splitlines()) <= 300


def test_readme_has_exactly_one_picture_and_it_exists():
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text())
    assert len(pictures) == 1
    assert (ROOT / pictures[0]).is_file()


def test_readme_shows_the_playground_and_its_command():
    """Issue 23.7: the one picture is a screenshot the playground's browser tests take, next to the command."""
    text = README.read_text()
    picture = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)[0]
    assert picture.startswith("docs/images/playground/")
    section = text.split("## The playground")[1].split("\n## ")[0]
    assert "chainrule playground" in section and picture in section


def test_readme_links_into_the_guide_exist_and_are_in_its_toctree():
    text = README.read_text()
    links = re.findall(r"\]\((docs/[^)]+)\)", text)
    assert len(links) >= 10
    assert [link for link in links if not (ROOT / link).is_file()] == []
    toctree = (ROOT / "docs/source/guide/index.rst").read_text()
    for link in links:
        if link.startswith("docs/source/guide/"):
            page = pathlib.Path(link).stem
            assert re.search(rf"^   {re.escape(page)}$", toctree, flags=re.M), page
            assert f"guide/{page}.html" in text, f"the README names the built page of {page}"


def test_readme_ten_line_example_runs_and_does_what_it_says(capsys):
    example = _python_blocks()[0]
    assert len([ln for ln in example.strip().splitlines() if ln.strip()]) <= 10
    namespace = {}
    _run(example, namespace)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("loss ") and float(out[0].split()[1]) > 0                      # forward
    net = namespace["net"]
    shapes = {name: p.value.shape for name, p in net.named_parameters()}
    assert out[1] == str(shapes)                       # "backward: fills every parameter's .grad"
    report = "\n".join(out[2:])
    assert report.startswith("Sequential: largest relative error") and "(ok, tol 1e-06)" in report
    rows = [ln.split() for ln in out[3:]]              # "analytic vs central differences: every one ok"
    assert [r[0] for r in rows] == ["input", *shapes] and all(float(r[1]) < 1e-6 for r in rows)


class _CheckedSGD:
    """Wraps optim.SGD: each step must be the comment's v <- mu v + dL/dW, W <- W - lr v."""

    def __init__(self, sgd_class, steps):
        self.sgd_class, self.steps = sgd_class, steps

    def __call__(self, params, lr, momentum=0.0, **kwargs):
        opt = self.sgd_class(params, lr, momentum=momentum, **kwargs)
        velocity = {}
        plist = list(params.parameters()) if hasattr(params, "parameters") else list(params)
        step = opt.step

        def checked_step():
            before = [(p.value.copy(), p.grad.copy()) for p in plist]
            step()
            for i, (p, (w, g)) in enumerate(zip(plist, before)):
                velocity[i] = momentum * velocity.get(i, 0.0) + g
                np.testing.assert_allclose(p.value, w - lr * velocity[i], rtol=1e-12, atol=1e-15)
            self.steps.append(1)

        opt.step = checked_step
        return opt


def test_every_python_example_of_the_readme_runs_quietly_and_as_commented(capsys, monkeypatch):
    """All blocks, one after another in one namespace (as a reader runs them), warnings as errors."""
    from chainrule import optim
    blocks = _python_blocks()
    assert len(blocks) == 3
    steps = []
    monkeypatch.setattr(optim, "SGD", _CheckedSGD(optim.SGD, steps))
    namespace = {}
    _run(blocks[0], namespace)
    first = float(capsys.readouterr().out.splitlines()[0].split()[1])

    _run(blocks[1], namespace)                        # the notes' loop
    out = capsys.readouterr().out
    assert len(steps) == 20                           # 10 epochs x 2 minibatches, each step as the comment says
    assert {"Adam", "RMSprop", "Adagrad"} <= set(optim.__all__)   # "also Adam, RMSprop, Adagrad"
    trained = float(out.split("loss after 10 epochs")[1].split()[0])
    assert trained < first / 2                        # "below half the first loss"

    _run(blocks[2], namespace)                        # the estimators
    out = capsys.readouterr().out.splitlines()
    d, svm, net = namespace["d"], namespace["svm"], namespace["net"]
    assert (len(d.y_train), len(d.y_test)) == (1437, 360)              # 1,437 training and 360 test images
    assert svm.n_iter_ < 300 and 90 <= svm.n_iter_ <= 130              # converges in ~110 epochs
    score, shape = out[0].split(" (")
    assert abs(float(score) - 0.96) <= 0.01 and shape == "10, 64)"     # about 0.96, (10, 64)
    X = namespace["X"]
    np.testing.assert_allclose(svm.decision_function(X[:5]), X[:5] @ svm.coef_.T + svm.intercept_,
                               rtol=1e-6, atol=1e-8)                   # rows are w_j: s = W x + b
    test_score, validation = (float(v) for v in out[1].split()[:2])
    assert abs(test_score - 0.95) <= 0.02 and abs(validation - 0.95) <= 0.02   # about 0.95 on both
    assert "Dropout(p=0.2)" in "\n".join(out[1:])


def test_make_demo_runs_chainrule_train_with_defaults(tmp_path, capsys):
    """make demo = chainrule train with every default: digits, >= 0.97 test accuracy, pictures named."""
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:")[1].split("\n\n")[0]
    assert "chainrule train --out runs/demo" in demo
    assert "`make demo` is `chainrule train --out runs/demo` with every default" in README.read_text()
    from chainrule.cli import main
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["train", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    test_acc = float(out.split("test ")[1].split()[0])
    assert test_acc >= 0.97                                            # "test accuracy about 0.98"
    assert f"pictures in {tmp_path}/: curves.png, confusion.png, mistakes.png" in out


def _first_command(text: str) -> int:
    """Where the README first asks to type ``chainrule``: a shell line or an inline `chainrule ...`."""
    starts = [m.start() for m in re.finditer(r"^chainrule |`chainrule [a-z-]", text, flags=re.M)]
    return min(starts)


def test_readme_says_to_activate_the_environment_before_its_first_command():
    text = README.read_text()
    activate = text.index("\n. .venv/bin/activate")
    assert activate < _first_command(text)
    shell_blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    assert ". .venv/bin/activate" in shell_blocks[1]                  # a line to type, right after the set-up
    # every later block of commands is typed in that shell
    command_lines = [ln for block in shell_blocks for ln in block.splitlines() if ln.startswith("chainrule ")]
    assert command_lines and not [ln for ln in command_lines if ".venv/bin/chainrule" in ln]


def test_make_demo_creates_activate_and_the_chainrule_script():
    """Read from the Makefile: demo depends on the stamp, whose recipe creates the venv (bin/activate)
    and installs the project (bin/chainrule, the console script pyproject.toml declares)."""
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^VENV\s*:=\s*\.venv$", makefile, flags=re.M)
    assert re.search(r"^STAMP\s*:=\s*\$\(VENV\)/\.installed-stamp$", makefile, flags=re.M)
    assert re.search(r"^demo: \$\(STAMP\)$", makefile, flags=re.M)
    recipe = makefile.split("\n$(STAMP):")[1].split("\n\n")[0]
    assert "-m venv $(VENV)" in recipe                                  # python -m venv writes bin/activate
    assert re.search(r"\$\(PY\) -m pip install .*-e '\.\[", recipe)     # an install of this project...
    scripts = (ROOT / "pyproject.toml").read_text().split("\n[project.scripts]\n")[1].split("\n\n")[0]
    assert scripts.strip() == 'chainrule = "chainrule.cli:main"'       # ...which writes bin/chainrule
    assert "$(VENV)/bin/chainrule train" in makefile.split("\ndemo:")[1].split("\n\n")[0]


@pytest.mark.skipif(pathlib.Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
                    reason="the tests do not run in this checkout's .venv")
def test_the_venv_make_built_has_activate_and_chainrule():
    """Where the tests run in the .venv that make built (as `make test` runs them), both files are there."""
    bin_dir = ROOT / ".venv" / "bin"
    assert (bin_dir / "activate").is_file()
    assert (bin_dir / "chainrule").is_file() and "chainrule.cli" in (bin_dir / "chainrule").read_text()
