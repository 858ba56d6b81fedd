"""The shell commands of the user guide work as typed (issue 22.3) and do what their comments say.

The guide says once (its index) and on each page that shows commands how ``chainrule`` gets on
the PATH after ``make demo`` (``. .venv/bin/activate``), as the README does. The command-line page
shows the README's own block, line for line (tests/test_readme_commands.py runs it). The sweep
lines of the scaling page parse as the installed command parses them, and the first one, run as
typed, makes the 6 candidates x 5 folds its comment counts, and the export line after it writes
the ONNX file it names (slow: 30 fits, about 12 s of CPU).
"""
import csv
import re
import shlex
from pathlib import Path

import pytest

from chainrule.cli import build_parser, main
from chainrule.cli.sweep import parse_assignment

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "source" / "guide"
README = ROOT / "README.md"
ACTIVATE = ". .venv/bin/activate"


def literal_lines(page: Path) -> list[str]:
    """The lines of the page's literal blocks (``.. code-block:: sh`` and ``::``), dedented, with
    continuation lines joined."""
    lines, out, inside = page.read_text(encoding="utf-8").splitlines(), [], False
    for line in lines:
        if re.match(r"\s*\.\. code-block:: *(sh|bash|console)\s*$", line) or (line.endswith("::") and not
                                                                             line.lstrip().startswith("..")):
            inside = True
            continue
        if inside and line.strip() and not line.startswith((" ", "\t")):
            inside = False
        if inside:
            out.append(line.strip())
    return _join(out)


def _join(lines: list[str]) -> list[str]:
    joined, buffer = [], ""
    for line in lines:
        buffer = f"{buffer} {line}".strip() if buffer else line
        if not buffer.endswith("\\"):
            joined.append(buffer)
            buffer = ""
        else:
            buffer = buffer[:-1].rstrip()
    return [ln for ln in joined if ln]


def _commands(page: Path) -> list[str]:
    """Lines that type a chainrule command (an ``A$ `` machine prompt and VAR=value prefixes removed)."""
    found = []
    for line in literal_lines(page):
        line = re.sub(r"^[A-Z]\$ ", "", line)
        line = re.sub(r"^(?:[A-Z_]+=\S+ )+", "", line)
        if line.startswith("chainrule "):
            found.append(line.split("#")[0].strip())
    return found


def test_the_guide_says_once_how_chainrule_gets_on_the_path():
    assert ACTIVATE in (GUIDE / "index.rst").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", sorted(p for p in GUIDE.glob("*.rst") if _commands(p)), ids=lambda p: p.stem)
def test_a_page_that_shows_commands_says_to_activate_first(page):
    text = page.read_text(encoding="utf-8")
    assert ACTIVATE in text, f"{page.name} shows chainrule commands but not how they reach the PATH"
    first_command = re.search(r"^[ \t]+(?:[A-Z]\$ )?(?:[A-Z_]+=\S+ )*chainrule ", text, flags=re.M).start()
    assert text.index(ACTIVATE) < first_command


def test_pages_with_commands_are_the_expected_ones():
    """The test above must see the pages it is about: a parser that found none would pass it."""
    assert {p.stem for p in GUIDE.glob("*.rst") if _commands(p)} >= {"command-line", "scaling", "playground"}


def _readme_block() -> list[str]:
    section = README.read_text().split("## The command line")[1].split("\n## ")[0]
    return section.split("```sh\n")[1].split("```")[0].splitlines()


def test_the_command_line_page_shows_the_readme_block_line_for_line():
    text = (GUIDE / "command-line.rst").read_text(encoding="utf-8")
    block = text.split("The commands\n------------")[1].split(".. code-block:: sh\n\n")[1].split("\n\n")[0]
    assert [ln[3:] for ln in block.splitlines()] == _readme_block()


def _sweep_lines() -> list[list[str]]:
    return [shlex.split(line) for line in _commands(GUIDE / "scaling.rst")
            if line.startswith("chainrule sweep") and "..." not in line]


def test_every_sweep_line_of_the_scaling_page_parses():
    lines = _sweep_lines()
    assert len(lines) >= 4
    parser = build_parser()
    for words in lines:
        args = parser.parse_args(words[1:])
        assert args.command == "sweep" and args.param
        for text in args.param:
            parse_assignment(text, "--param", True)
        for text in args.set:
            parse_assignment(text, "--set", False)


@pytest.mark.slow
def test_the_first_sweep_line_as_typed(tmp_path, monkeypatch, capsys):
    """'6 candidates x 5 folds, every core (loky)'; 50 epochs end with a ConvergenceWarning, as the
    page says; then the export line: 'the best model as runs/sweep/model.onnx'."""
    pytest.importorskip("onnx")
    words = _sweep_lines()[0]
    assert "--set" in words and "max_iter=50" in words
    monkeypatch.chdir(tmp_path)
    assert main(words[1:]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(open(tmp_path / "runs" / "sweep" / "results.csv")))
    assert len(rows) == 30
    assert len({r["candidate"] for r in rows}) == 6 and {r["fold"] for r in rows} == {"0", "1", "2", "3", "4"}
    assert "on loky" in out
    assert "Maximum iterations (50) reached" in err
    export = [shlex.split(ln.split("#")[0]) for ln in _commands(GUIDE / "scaling.rst") if ln.startswith("chainrule export")]
    assert export == [["chainrule", "export", "--onnx", "runs/sweep"]]
    assert main(export[0][1:]) == 0
    assert (tmp_path / "runs" / "sweep" / "model.onnx").is_file()
