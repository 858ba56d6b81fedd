"""chainrule playground: a page in the browser that trains chainrule's engine live.

Starts the playground's server (``chainrule.playground``, the ``playground`` extra) on 127.0.0.1,
prints the address, opens it in the browser unless ``--no-browser``, and serves until Ctrl-C
(one line, exit code 130, as ``train``). ``--host 0.0.0.0`` makes it reachable from other
machines, with a warning: anyone who reaches the port can use it.
"""
from __future__ import annotations

import ipaddress
import sys

from ._types import Number


def add_parser(sub):
    p = sub.add_parser("playground", help="a page in the browser that trains chainrule's engine live",
                       description="Start the playground: a local web page where you change a setting and watch "
                                   "chainrule's engine train (decision boundary, neurons, weights, losses, the "
                                   "chain rule for any weight).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on: 127.0.0.1 is this machine only, 0.0.0.0 every network")
    p.add_argument("--port", type=Number(int, 0, 65535), default=8765, help="port; 0 picks a free one")
    p.add_argument("--no-browser", action="store_true", help="print the address but do not open a browser")
    p.add_argument("--max-sessions", type=Number(int, 1, 64), default=8,
                   help="tabs that may train at once")
    p.add_argument("--max-upload", type=Number(int, 1000, 100_000_000), default=1_000_000,
                   help="largest CSV file a page may upload, in bytes")
    p.set_defaults(run=run)
    return p


def _exposed(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host != "localhost"


def run(args) -> int:
    try:
        from ..playground.server import bind, create_app, make_server
    except ImportError as exc:
        print(f"chainrule playground: needs the playground extra ({exc.name} is missing): "
              "pip install 'chainrule[playground]'", file=sys.stderr)
        return 1
    host = args.host.strip("[]")
    sock = bind(host, args.port)
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    if _exposed(host):
        print(f"chainrule playground: warning: listening on {host}, so every machine that can reach port {port} "
              "can use this playground (and its CPU); use the default --host 127.0.0.1 unless you mean it",
              file=sys.stderr, flush=True)
    app = create_app(host, max_sessions=args.max_sessions, max_upload=args.max_upload)
    server = make_server(app, sock, args.max_upload)
    print(f"chainrule playground: {url}   (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        import webbrowser
        webbrowser.open(url)
    server.run(sockets=[sock])
    # uvicorn catches Ctrl-C itself, shuts down, then raises the signal again (KeyboardInterrupt, which
    # ``chainrule.cli.main`` turns into one line and exit code 130); a server stopped another way ends here
    if server.should_exit:
        raise KeyboardInterrupt
    return 0
