"""Every ``>>>`` snippet of the user guide and the front page runs and prints what the page shows.

The guide quotes the notes' numbers (5.27, 2.04 against 0.89, the Jacobian at (2, 1)...) as the
library computes them; running the pages as doctests keeps the prose true while the engine
changes underneath it.
"""
import doctest
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "docs" / "source"
PAGES = sorted(SOURCE.glob("guide/*.rst")) + [SOURCE / "index.rst"]


def test_the_guide_has_its_chapters():
    names = {p.stem for p in PAGES}
    assert {"introduction", "losses", "backprop", "beyond", "conventions"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(SOURCE).as_posix())
def test_page_snippets(page):
    pytest.importorskip("sklearn")
    pytest.importorskip("skimage")
    result = doctest.testfile(str(page), module_relative=False, verbose=False, report=True,
                              optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {page.name} failed"
