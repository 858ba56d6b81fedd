"""Plant realistic bugs in chainrule one at a time and see whether the tests catch them (issue 19.7).

Each planted bug (``scripts/planted_bugs.py``: file, exact original snippet, mutated snippet, the
tests to run, a one-line description) is applied to a fresh copy of ``src/`` in a temporary folder,
never to the worktree's files: the copy goes first on PYTHONPATH (the editable install's path
comes after it) and the matching fast tests run against it (``-x -q -p no:cacheprovider -m "not slow"``,
one pytest process at a time, with a timeout). The outcome of each bug:

- killed: a test failed (or the tests ran past the timeout, or could not even be collected);
- survived: every selected test passed with the bug in place;
- not applicable: the snippet is not in the file exactly once (the code moved: fix the table;
  never counted in the kill rate);
- baseline failure: the selected tests fail without any bug (not counted either).

Usage::

    .venv/bin/python scripts/plant_bugs.py                      # every bug, report to benchmarks/results/
    .venv/bin/python scripts/plant_bugs.py --check              # only say which snippets apply
    .venv/bin/python scripts/plant_bugs.py --only optim-08 io-01 --report /tmp/some.md
    .venv/bin/python scripts/plant_bugs.py --area optim training

Nothing here imports chainrule: the script needs only the standard library and the project's
test environment (the Python that runs it runs pytest).
"""
from __future__ import annotations

import argparse
import compileall
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "chainrule"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from planted_bugs import BUGS  # noqa: E402  (the table, beside this script)

PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow"]
KILLED, SURVIVED, NOT_APPLICABLE, BASELINE = "killed", "survived", "not applicable", "baseline failure"


def numbered(bugs):
    """[(id, bug)] with ids like 'optim-08': the area and the bug's rank within its area."""
    seen, out = Counter(), []
    for bug in bugs:
        seen[bug[0]] += 1
        out.append((f"{bug[0]}-{seen[bug[0]]:02d}", bug))
    return out


def applies(file: str, old: str) -> tuple[str | None, str]:
    """(the file's text, '') when ``old`` occurs exactly once in it, else (None, why not)."""
    path = PACKAGE / file
    if not path.is_file():
        return None, f"no file {file}"
    text = path.read_text(encoding="utf-8")
    n = text.count(old)
    return (text, "") if n == 1 else (None, f"snippet found {n} times in {file}")


class Sandbox:
    """A pristine, byte-compiled copy of ``src/`` and a fresh working copy of it per run."""

    def __init__(self, base: Path):
        self.base = base
        self.template = base / "template" / "src"
        shutil.copytree(ROOT / "src", self.template, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        compileall.compile_dir(str(self.template), quiet=1, workers=1)
        self.work = base / "work" / "src"

    def fresh(self, file: str | None = None, text: str | None = None) -> Path:
        if self.work.exists():
            shutil.rmtree(self.work)
        shutil.copytree(self.template, self.work)           # copy2: the .pyc files stay valid
        if file is not None:
            target = self.work / "chainrule" / file
            target.write_text(text, encoding="utf-8")
            for pyc in (target.parent / "__pycache__").glob(target.stem + ".*.pyc"):
                pyc.unlink()                                 # never a stale compiled original
        return self.work

    def env(self) -> dict:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.work), *filter(None, [env.get("PYTHONPATH")])])
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env


def run_tests(sandbox: Sandbox, tests: str, timeout: float) -> tuple[str, float, str]:
    """('passed' | 'failed' | 'timeout' | 'error', seconds, last lines) of one pytest run."""
    cmd = [sys.executable, *PYTEST, *shlex.split(tests)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)                 # the pytest we started and its children only
        out, _ = proc.communicate()
        return "timeout", time.perf_counter() - t0, out[-600:]
    seconds = time.perf_counter() - t0
    status = {0: "passed", 1: "failed", 2: "failed"}.get(proc.returncode, "error")   # 2: collection failed
    return status, seconds, out[-3000:]


def first_failure(output: str) -> str:
    """The first 'FAILED tests/...::name' or 'ERROR ...' of pytest's summary, as 'name'."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0].split("::")[-1].split(" ")[-1][:80]
    return ""


def check_sandbox(sandbox: Sandbox) -> None:
    """The copy, not the worktree, must be what ``import chainrule`` finds."""
    sandbox.fresh()
    where = subprocess.run([sys.executable, "-c", "import chainrule; print(chainrule.__file__)"], cwd=ROOT,
                           env=sandbox.env(), capture_output=True, text=True, check=True).stdout.strip()
    if not where.startswith(str(sandbox.work)):
        raise SystemExit(f"plant_bugs: `import chainrule` finds {where}, not the copy in {sandbox.work}")


def campaign(selected, timeout: float, say) -> list[dict]:
    results, baseline = [], {}
    with tempfile.TemporaryDirectory(prefix="plant-bugs-") as tmp:
        sandbox = Sandbox(Path(tmp))
        check_sandbox(sandbox)
        for bug_id, (area, file, old, new, tests, what) in selected:
            row = {"id": bug_id, "area": area, "file": file, "what": what, "tests": tests, "seconds": 0.0}
            text, why = applies(file, old)
            if text is None:
                row.update(outcome=NOT_APPLICABLE, detail=why)
            else:
                if tests not in baseline:
                    sandbox.fresh()
                    baseline[tests] = run_tests(sandbox, tests, timeout)
                    if baseline[tests][0] != "passed":
                        say(f"baseline of {tests!r}: {baseline[tests][0]}\n{baseline[tests][2]}")
                if baseline[tests][0] != "passed":
                    row.update(outcome=BASELINE, detail=f"tests {baseline[tests][0]} without the bug")
                else:
                    sandbox.fresh(file, text.replace(old, new, 1))
                    status, seconds, tail = run_tests(sandbox, tests, timeout)
                    row["seconds"] = seconds
                    if status == "passed":
                        row.update(outcome=SURVIVED, detail="")
                    elif status == "error":
                        row.update(outcome=BASELINE, detail="pytest could not run: " + tail.strip().splitlines()[-1])
                    else:
                        row.update(outcome=KILLED, detail="timeout" if status == "timeout" else first_failure(tail))
            say(f"{bug_id:12s} {row['outcome']:16s} {row['seconds']:6.1f} s  {what}")
            results.append(row)
    return results


def rate(rows) -> str:
    k = sum(r["outcome"] == KILLED for r in rows)
    n = k + sum(r["outcome"] == SURVIVED for r in rows)
    return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "-"


def report(results, seconds: float) -> str:
    areas = OrderedDict()
    for r in results:
        areas.setdefault(r["area"], []).append(r)
    lines = ["# Planted bugs: results of `scripts/plant_bugs.py`", "",
             f"{len(results)} bugs, one at a time, on a copy of `src/`; {seconds / 60:.1f} min. Kill rate "
             f"(killed / (killed + survived); not-applicable and baseline failures are not counted): "
             f"**{rate(results)}**.", "",
             "| area | bugs | killed | survived | not applicable | baseline failure | kill rate |",
             "|---|---|---|---|---|---|---|"]
    for area, rows in areas.items():
        c = Counter(r["outcome"] for r in rows)
        lines.append(f"| {area} | {len(rows)} | {c[KILLED]} | {c[SURVIVED]} | {c[NOT_APPLICABLE]} | {c[BASELINE]} "
                     f"| {rate(rows)} |")
    lines += ["", "| id | file | planted bug | tests run | outcome | s |", "|---|---|---|---|---|---|"]
    for r in results:
        detail = f" ({r['detail']})" if r.get("detail") else ""
        lines.append(f"| {r['id']} | `{r['file']}` | {r['what']} | `{r['tests']}` | {r['outcome']}{detail} "
                     f"| {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", metavar="ID", help="run these bugs only (ids like optim-08)")
    ap.add_argument("--area", nargs="+", help="run the bugs of these areas only")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per pytest run (default 300)")
    ap.add_argument("--report", type=Path, default=ROOT / "benchmarks" / "results" / "plant_bugs.md",
                    help="the markdown report to write")
    ap.add_argument("--check", action="store_true", help="only list the bugs and whether their snippets apply")
    args = ap.parse_args(argv)
    selected = [(i, b) for i, b in numbered(BUGS)
                if (not args.only or i in args.only) and (not args.area or b[0] in args.area)]
    if args.check:
        bad = 0
        for bug_id, (area, file, old, new, tests, what) in selected:
            _, why = applies(file, old)
            bad += bool(why)
            print(f"{bug_id:12s} {'ok' if not why else why:40s} {what}")
        print(f"{len(selected)} bugs, {bad} not applicable")
        return 0
    t0 = time.perf_counter()
    results = campaign(selected, args.timeout, lambda line: print(line, flush=True))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report(results, time.perf_counter() - t0), encoding="utf-8")
    print(f"kill rate {rate(results)}; report in {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
