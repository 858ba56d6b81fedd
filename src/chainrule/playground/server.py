"""The playground's web application (Starlette) and the server that runs it (uvicorn).

Routes: ``/`` (the page), ``/static/...`` (its JavaScript and CSS, shipped with the package) and
``/ws`` (one WebSocket per tab, ``connection.py``). Nothing else: no route writes, reads or names a
file on the server. ``GuardMiddleware`` (``security.py``) refuses foreign Host headers and
cross-origin writes and WebSockets; a limit on concurrent sessions refuses one more tab with a
message the page shows.
"""
from __future__ import annotations

import logging
import socket
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from .connection import Connection
from .security import GuardMiddleware
from .upload import MAX_UPLOAD_BYTES

STATIC = Path(__file__).resolve().parent / "static"
MAX_SESSIONS = 8
#: the page may load only its own scripts, styles and pictures, and talk only to this server
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

log = logging.getLogger("chainrule.playground")


class Sessions:
    """How many tabs are connected, and the limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.active = 0
        self.connections: set = set()      # the runs of the open tabs (for tests and diagnostics)

    def acquire(self) -> bool:
        if self.active >= self.limit:
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active -= 1


def create_app(bound: str = "127.0.0.1", *, max_sessions: int = MAX_SESSIONS,
               max_upload: int = MAX_UPLOAD_BYTES) -> Starlette:
    """The playground as an ASGI application.

    Parameters
    ----------
    bound : str, default "127.0.0.1"
        The address the server listens on (the Host headers it accepts follow from it).
    max_sessions : int, default 8
        Tabs connected at once; one more is told to close another.
    max_upload : int, default 1,000,000
        The largest CSV file accepted, in bytes.

    Returns
    -------
    starlette.applications.Starlette
        With ``app.state.sessions`` (a ``Sessions``: ``active`` and ``limit``).
    """
    sessions = Sessions(max_sessions)

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={
            "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer"})

    async def websocket(ws):
        await ws.accept()
        if not sessions.acquire():
            await ws.send_json({"type": "error", "key": None, "fatal": True, "message": (
                f"the playground already has {sessions.limit} tabs open, its limit: close one of them and "
                f"reload this page (or restart it with --max-sessions {sessions.limit * 2})")})
            await ws.close(code=1013)
            return
        connection = Connection(ws, max_upload)
        sessions.connections.add(connection)
        try:
            await connection.run()
        finally:
            sessions.connections.discard(connection)
            sessions.release()

    app = Starlette(routes=[Route("/", index), WebSocketRoute("/ws", websocket),
                            Mount("/static", StaticFiles(directory=STATIC), name="static")],
                    middleware=[Middleware(GuardMiddleware, bound=bound)])
    app.state.sessions = sessions
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one).

    Parameters
    ----------
    host : str
        The address.
    port : int
        The port, or 0.

    Returns
    -------
    socket.socket

    Raises
    ------
    OSError
        If the address cannot be bound (the message names it).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port "
                                 "(0 picks a free one)") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def make_server(app, sock: socket.socket, max_upload: int = MAX_UPLOAD_BYTES):
    """A uvicorn server for ``app`` on the bound socket ``sock`` (call ``.run(sockets=[sock])``).

    Uvicorn's own logging is kept to warnings; WebSocket messages larger than twice the upload limit
    are refused by the protocol itself (a file past the limit but under that gets the playground's
    own message). Open tabs get 2 s to close when the server stops.

    Parameters
    ----------
    app : ASGI application
        ``create_app()``.
    sock : socket.socket
        From ``bind``.
    max_upload : int
        The upload limit, in bytes.

    Returns
    -------
    uvicorn.Server
    """
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio", ws_max_size=2 * max_upload + 65536,
                            timeout_graceful_shutdown=2, lifespan="off", access_log=False,
                            server_header=False)
    return uvicorn.Server(config)
