"""Who may talk to the playground: requests must name the address it serves in their Host header
(a DNS-rebinding page cannot), and writes and WebSocket connections must come from the page
itself (same origin), never from another site open in the same browser.

- Host: the server bound to 127.0.0.1 answers ``127.0.0.1`` and ``localhost``; bound to another
  address, that address; bound to every address (0.0.0.0 or ::), any IP literal and
  ``localhost``, but no other name (a rebinding attack needs a name it controls).
- Origin: a WebSocket handshake or a request other than GET/HEAD/OPTIONS that carries an Origin
  header must carry the origin of the address it was sent to (``http://`` + Host). Browsers
  always send Origin with these; a client that sends none (a script) is not a browser page and
  cannot be another site's. ``Sec-Fetch-Site: cross-site`` is refused as well.

Refused HTTP requests get 400 (bad Host) or 403 (cross-origin) with one line of text; a refused
WebSocket handshake gets 403.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LOOPBACK_NAMES = ("localhost",)


def _host_name(host_header: str) -> str | None:
    """The name or address of a Host header, lower case, without port or IPv6 brackets."""
    if not host_header:
        return None
    try:
        parts = urlsplit("//" + host_header)
        _ = parts.port                      # raises on a malformed port
    except ValueError:
        return None
    return (parts.hostname or "").lower() or None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(name: str | None, bound: str) -> bool:
    """Whether a request whose Host names ``name`` is addressed to a server bound to ``bound``.

    Parameters
    ----------
    name : str or None
        The Host header's name or address (``_host_name``).
    bound : str
        The address the server listens on (``--host``).

    Returns
    -------
    bool
    """
    if not name:
        return False
    bound = bound.strip("[]").lower()
    if bound in ("0.0.0.0", "::"):
        return _is_ip(name) or name in LOOPBACK_NAMES
    if name == bound:
        return True
    try:
        loopback = ipaddress.ip_address(bound).is_loopback
    except ValueError:
        loopback = bound in LOOPBACK_NAMES
    return loopback and (name in LOOPBACK_NAMES or (_is_ip(name) and ipaddress.ip_address(name).is_loopback))


def _headers(scope) -> dict:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def same_origin(origin: str, host_header: str) -> bool:
    """Whether an Origin header names the page's own origin (``http://`` + the Host header)."""
    try:
        o = urlsplit(origin)
        port = o.port
    except ValueError:
        return False
    if o.scheme not in ("http", "https") or not o.hostname:
        return False
    netloc = o.hostname.lower() + (f":{port}" if port is not None else "")
    wanted = urlsplit("//" + host_header)
    want = (wanted.hostname or "").lower() + (f":{wanted.port}" if wanted.port is not None else "")
    return netloc == want


class GuardMiddleware:
    """ASGI middleware refusing requests with a foreign Host and cross-origin writes and WebSockets.

    Parameters
    ----------
    app : ASGI application
        What the allowed requests reach.
    bound : str
        The address the server listens on.
    """

    def __init__(self, app, bound: str):
        self.app = app
        self.bound = bound

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        problem, status = None, 403
        if not host_allowed(_host_name(host), self.bound):
            problem, status = (f"refused: the Host header {host[:80]!r} is not the address this server serves "
                               "(DNS rebinding protection)"), 400
        elif kind == "websocket" or scope.get("method", "GET") not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, host):
                problem = f"refused: a request from the origin {origin[:80]!r} (another site) may not do this"
            elif headers.get("sec-fetch-site") == "cross-site":
                problem = "refused: a cross-site request may not do this"
        if problem is None:
            await self.app(scope, receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
        else:
            body = (problem + "\n").encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
