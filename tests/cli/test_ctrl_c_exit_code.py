"""Ctrl-C in any command exits 130 with one line, never a traceback: ``main`` turns a
KeyboardInterrupt that a command does not handle itself into exit code 130.

Planted bug this catches (``scripts/plant_bugs.py``): cli-03, that handler returning 1, which
survived every other fast test (the commands tested under Ctrl-C, train and demo, handle it
themselves; their subprocess tests are marked slow).
"""
from chainrule.cli import explain, main


def test_a_ctrl_c_no_command_handles_exits_130_in_one_line(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(explain, "softmax", interrupted)
    assert main(["explain", "softmax", "3.2", "5.1", "-1.7", "--label", "0"]) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule explain") and err.endswith(": interrupted (Ctrl-C)") and "\n" not in err
