"""``chainrule playground``: prints its address, warns when it listens beyond this machine, refuses a port
in use with a message, and stops on Ctrl-C with one line and exit code 130 (as ``train``)."""
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from chainrule.cli import build_parser


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--no-browser", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_command_and_its_options():
    args = build_parser().parse_args(["playground"])
    assert (args.host, args.port, args.no_browser, args.max_sessions) == ("127.0.0.1", 8765, False, 8)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["playground", "--port", "70000"])


def test_it_serves_warns_beyond_this_machine_and_stops_on_ctrl_c_with_one_line(ctrl_c_as_in_a_terminal):
    p = start("--host", "0.0.0.0", "--port", "0")
    try:
        warning = p.stderr.readline()
        line = p.stdout.readline()
        assert line.startswith("chainrule playground: http://127.0.0.1:") and "Ctrl-C" in line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=10) as r:      # the Host 127.0.0.1 is one of its addresses
            assert r.status == 200 and b'id="boundary"' in r.read()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert warning.startswith("chainrule playground: warning: listening on 0.0.0.0, so every machine")
    assert p.returncode == 130
    assert err == "chainrule playground: interrupted (Ctrl-C)\n"


def test_a_port_in_use_is_a_clear_message(capsys):
    from chainrule.cli import main
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "choose another --port" in err
    assert err.count("\n") == 1
