"""The download manifest of chainrule's cache (.chainrule-downloads.json) is read through the guarded
reader: a hostile one (nested deeply, a FIFO) means "nothing here is chainrule's", never a crash
or a hang."""
import os
import subprocess
import sys

import pytest

from chainrule.datasets import ownership


@pytest.mark.parametrize("kind", ["deep", "fifo", "not-json"])
def test_a_hostile_manifest_owns_nothing(tmp_path, kind):
    path = tmp_path / ownership.MANIFEST
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_text("[" * 30_000 + "]" * 30_000 if kind == "deep" else "{not json")
    code = f"from chainrule.datasets import ownership; import pathlib; print(ownership._read(pathlib.Path({str(tmp_path)!r})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "{}", done.stderr
