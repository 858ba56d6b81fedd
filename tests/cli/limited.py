"""Run ``chainrule.cli.main(argv)`` for several command lines in one child process (one set of
imports), each under an address-space limit of what the process has plus its budget
(``resource.setrlimit(RLIMIT_AS)``, set again before each command) and with its peak resident
growth measured from a fresh start (``/proc/self/clear_refs``); the child is killed after a timeout.
A command given a hostile file must answer in one line, within 4 x the file's size + 64 MB, in
seconds. Each answer is the exit code, stderr, stdout and the peak growth."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

MB = 1 << 20
TIMEOUT = 120          # seconds for the whole batch: a command that hangs never gets there

CHILD = textwrap.dedent('''
    import contextlib, io, json, os, resource, sys
    def vm(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    import numpy, sklearn.pipeline, PIL.Image                  # what the commands import on their way
    import chainrule.cli, chainrule.cli.predict, chainrule.cli.evaluate, chainrule.cli.sweep, chainrule.cli.train
    import chainrule.io, chainrule.io.safe_arrays, chainrule.models, chainrule.datasets, chainrule.sweep
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    answers = []
    for argv, budget, env in json.loads(sys.argv[1]):
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        limit = vm("VmSize") + budget
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
        base = vm("VmRSS")
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = chainrule.cli.main(argv)
        growth = vm("VmHWM") - base
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        answers.append({"code": code, "err": err.getvalue(), "out": out.getvalue(), "growth": growth,
                        "budget": budget})
        print(json.dumps(answers[-1]), flush=True)
''')


def run_limited(cases, timeout: float = TIMEOUT) -> list[dict]:
    """``[{"code", "err", "out", "growth", "budget"}]`` of ``chainrule argv`` for each ``(argv, budget)``
    or ``(argv, budget, env)`` of ``cases``, in one limited child; each growth is checked against its budget."""
    spec = [[[str(a) for a in c[0]], int(c[1]), dict(c[2]) if len(c) > 2 else {}] for c in cases]
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert len(answers) == len(cases), proc.stderr
    for (argv, budget, _), a in zip(spec, answers):
        print(f"\nPEAK {' '.join(argv[:1] + [os.path.basename(x) for x in argv[1:3]])}: "
              f"+{a['growth'] / 1024:,.0f} KiB (budget {budget / MB:.1f} MiB)")
        assert a["growth"] <= budget, f"{argv}: peak +{a['growth']:,} bytes > {budget:,}"
    return answers


def budget_for(path) -> int:
    """4 x the file's size + 64 MB (a link counts as the link itself, a FIFO as 0 bytes)."""
    return 4 * os.stat(path, follow_symlinks=False).st_size + 64 * MB
