"""Run ``chainrule.cli.main(argv)`` in a child process whose address space is limited to what it has
after its imports plus a budget (``resource.setrlimit(RLIMIT_AS)``), killed after a timeout: a
command given a hostile file must answer in one line, within 4 x the file's size + 64 MB, in
seconds. Returns the exit code, stderr, stdout and the peak growth of resident memory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

MB = 1 << 20
TIMEOUT = 60           # seconds: a command that has not answered by then hangs (the machine may be busy)

CHILD = textwrap.dedent('''
    import contextlib, io, json, resource, sys
    def vm(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    import numpy, sklearn.pipeline, PIL.Image                  # what the commands import on their way
    import chainrule.cli, chainrule.cli.predict, chainrule.cli.evaluate, chainrule.cli.sweep, chainrule.cli.train
    import chainrule.io, chainrule.models, chainrule.datasets, chainrule.sweep
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = vm("VmSize") + int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    base = vm("VmRSS")
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = chainrule.cli.main(json.loads(sys.argv[2]))
    print(json.dumps({"code": code, "err": err.getvalue(), "out": out.getvalue(), "growth": vm("VmHWM") - base}))
''')


def run_limited(argv, budget: int, env=None, timeout: float = TIMEOUT) -> dict:
    """``{"code", "err", "out", "growth"}`` of ``chainrule argv`` in a limited child."""
    proc = subprocess.run([sys.executable, "-c", CHILD, str(budget), json.dumps([str(a) for a in argv])],
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["growth"] <= budget, f"{argv}: peak +{result['growth']:,} bytes > {budget:,}"
    return result


def budget_for(path) -> int:
    """4 x the file's size + 64 MB (a link counts as the link itself, a FIFO as 0 bytes)."""
    return 4 * os.stat(path, follow_symlinks=False).st_size + 64 * MB
