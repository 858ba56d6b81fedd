"""``docs/architecture.md`` tells the truth: its table of who imports whom is the real one (measured
with ``ast`` over ``src/chainrule``), dependencies point inward only (no package imports one on a
floor above it), and no module imports inside a function to dodge an import circle."""
import ast
import pathlib
import re

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "chainrule"
DOC = SRC.parents[1] / "docs" / "architecture.md"


def unit(module: str) -> str | None:
    """The unit of the map a module belongs to: its subpackage, or a module of the package root."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in ("__init__", "__main__", "__version__"):
        return None
    return parts[1]


def imports_of(path: pathlib.Path, package: str):
    """(imported module, line, inside a function?) for every chainrule import of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "chainrule":
                target = node.module
            else:
                continue
            names = [f"{target}.{a.name}" for a in node.names] if not node.module or target == "chainrule" \
                else [target]
            for name in names:
                yield name, node.lineno, id(node) in inside
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "chainrule":
                    yield a.name, node.lineno, id(node) in inside


def module_name(path: pathlib.Path) -> tuple[str, str]:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def real_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        name, package = module_name(path)
        me = unit(name)
        if me is None:
            continue
        graph.setdefault(me, set())
        for target, _, _ in imports_of(path, package):
            other = unit(target)
            if other is not None and other != me:
                graph[me].add(other)
    return graph


def documented_graph() -> dict[str, set[str]]:
    """The rows of the table under '## Who imports whom' (units in backticks, '-' for none)."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Who imports whom"):]
    graph = {}
    for line in section.splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 3 or cells[0].startswith("unit") or set(cells[0]) <= {"-", " "}:
            continue
        me = re.findall(r"`([\w]+)`", cells[0])
        graph[me[0]] = set(re.findall(r"`([\w]+)`", cells[2]))
    return graph


def floors() -> dict[str, int]:
    """unit -> floor, from the table's second column (0 is the ground floor)."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Who imports whom"):]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 3 and cells[1].isdigit():
            out[re.findall(r"`([\w]+)`", cells[0])[0]] = int(cells[1])
    return out


def check_table(doc: dict, real: dict) -> None:
    assert sorted(doc) == sorted(real), "units missing from or extra in docs/architecture.md"
    wrong = {u: (sorted(doc[u]), sorted(real[u])) for u in real if doc[u] != real[u]}
    assert not wrong, f"docs/architecture.md (documented, real): {wrong}"


def test_the_table_is_the_real_import_graph():
    check_table(documented_graph(), real_graph())


def test_dependencies_point_inward_only():
    level, real = floors(), real_graph()
    upward = [(u, v) for u, vs in real.items() for v in vs if level[v] > level[u]]
    same_floor_circles = [(u, v) for u, vs in real.items() for v in vs if u in real.get(v, ()) and u < v]
    assert not upward, f"imports of a floor above: {upward}"
    assert not same_floor_circles, f"import circles between units: {same_floor_circles}"


def test_no_import_inside_a_function_reaches_a_unit_that_imports_back():
    """A function-level import of chainrule code is allowed only to defer a cost (an optional package,
    a heavy shell), never to dodge a circle: the target must not import the importer's unit."""
    real = real_graph()
    dodges = []
    for path in SRC.rglob("*.py"):
        name, package = module_name(path)
        me = unit(name)
        for target, line, inside in imports_of(path, package):
            other = unit(target)
            if inside and other and other != me and me in real.get(other, ()):
                dodges.append(f"{path.relative_to(SRC)}:{line} imports {target}")
    assert not dodges, dodges


def test_the_table_check_can_fail():
    real = real_graph()
    with pytest.raises(AssertionError):
        check_table({**real, "core": real["core"] | {"models"}}, real)
    with pytest.raises(AssertionError):
        check_table({u: v for u, v in real.items() if u != "io"}, real)
