"""A real playground server on 127.0.0.1 at a free port (uvicorn in a thread of the test process, so a
test can look at its sessions), and a WebSocket client that speaks the page's protocol."""
import contextlib
import json
import threading
import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("websockets")


class Running:
    """A started server: ``url``, ``port``, ``app`` (``app.state.sessions``), ``stop()``."""

    def __init__(self, max_sessions=8, max_upload=1_000_000):
        from chainrule.playground.server import bind, create_app, make_server
        self.sock = bind("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.app = create_app("127.0.0.1", max_sessions=max_sessions, max_upload=max_upload)
        self.server = make_server(self.app, self.sock, max_upload)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the playground server did not start in 20 s")
            time.sleep(0.02)

    @property
    def sessions(self):
        return self.app.state.sessions.active

    def wait_sessions(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while self.sessions != n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.sessions

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def playground_server():
    server = Running()
    yield server
    server.stop()


@pytest.fixture
def small_server():
    """A server of its own with a limit of 2 sessions and 2,000-byte uploads."""
    server = Running(max_sessions=2, max_upload=2000)
    yield server
    server.stop()


class Client:
    """The page's side of the protocol, without a browser."""

    def __init__(self, server, origin="same", host=None):
        from websockets.sync.client import connect
        headers = {"Host": host} if host else None
        origin = server.url.rstrip("/") if origin == "same" else origin
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(connect(f"ws://127.0.0.1:{server.port}/ws", origin=origin,
                                                   additional_headers=headers, open_timeout=10))
        self.hello = self.recv()

    def send(self, **msg):
        self.ws.send(json.dumps(msg))

    def recv(self, timeout=20):
        data = self.ws.recv(timeout)
        return data if isinstance(data, bytes) else json.loads(data)

    def until(self, kind, timeout=20):
        """Messages up to the first of type ``kind`` (acknowledging frames as the page does)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.1, deadline - time.monotonic()))
            if isinstance(msg, bytes):
                if kind == "bytes":
                    return msg
                continue
            if msg.get("type") == "frame":
                self.send(type="ack")
            if msg.get("type") == kind:
                return msg

    def configure(self, **settings):
        self.send(type="settings", settings=settings)
        layout = self.until("layout")
        return layout, self.until("frame")

    def close(self):
        self.stack.close()


@pytest.fixture
def connect():
    """``connect(server, origin="same", host=None)``: a new Client."""
    return Client


@pytest.fixture
def client(playground_server):
    c = Client(playground_server)
    yield c
    c.close()
