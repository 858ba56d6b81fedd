#!/usr/bin/env python3
"""Lines of code per package of ``src/chainrule``: lines that hold code, not docstrings, comments or
blank lines (a docstring is any statement that is only a string). Issue 20 asks for them before and
after a refactor.

    python scripts/loc.py              # the working tree
    python scripts/loc.py REV [REV2]   # one or two git revisions, side by side
"""
from __future__ import annotations

import ast
import io
import subprocess
import sys
import tarfile
import tokenize
from collections import Counter


def code_lines(source: str) -> int:
    """The number of lines holding a token that is not a comment, a docstring or whitespace."""
    tree = ast.parse(source)
    doc_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            doc_lines.update(range(node.lineno, node.end_lineno + 1))
    lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip:
            continue
        for line in range(tok.start[0], tok.end[0] + 1):
            if line not in doc_lines:
                lines.add(line)
    return len(lines)


def unit(path: str) -> str:
    parts = path.split("/")[2:]            # src/chainrule/<unit>/...
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def count(files: dict[str, str]) -> Counter:
    out: Counter = Counter()
    for path, text in files.items():
        out[unit(path)] += code_lines(text)
    return out


def working_tree() -> dict[str, str]:
    import pathlib
    return {str(p): p.read_text(encoding="utf-8") for p in pathlib.Path("src/chainrule").rglob("*.py")}


def at_revision(rev: str) -> dict[str, str]:
    data = subprocess.run(["git", "archive", rev, "src/chainrule"], capture_output=True, check=True).stdout
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.endswith(".py"):
                files[m.name] = tar.extractfile(m).read().decode("utf-8")
    return files


def main(argv: list[str]) -> int:
    columns = [(rev, count(at_revision(rev))) for rev in argv] or [("working tree", count(working_tree()))]
    if len(argv) == 1:
        columns.append(("working tree", count(working_tree())))
    units = sorted(set().union(*(c for _, c in columns)))
    print(f"{'unit':16s}" + "".join(f"{name[:14]:>16s}" for name, _ in columns))
    for u in units:
        print(f"{u:16s}" + "".join(f"{c.get(u, 0):16d}" for _, c in columns))
    print(f"{'total':16s}" + "".join(f"{sum(c.values()):16d}" for _, c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
