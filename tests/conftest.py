"""Shared fixtures: the real MNIST test-set files (skipped when absent), a local HTTP server, and Ctrl-C
as a terminal delivers it."""
import http.server
import pathlib
import signal
import threading

import pytest

MNIST_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
    """../shared/data/mnist: the real 10,000 MNIST test images and labels."""
    needed = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    if not all((MNIST_DIR / n).exists() for n in needed):
        pytest.skip(f"the MNIST test-set files are not in {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(scope="session")
def mnist_split(mnist_dir):
    """The MNIST test set as the issues use it: first 8,000 images train, last 2,000 test, /255."""
    from chainrule.datasets import load_mnist
    d = load_mnist(mnist_dir, download=False, subset="test", progress=False)
    X = d.X_test.reshape(10000, -1).astype("float32") / 255.0
    return X[:8000], X[8000:], d.y_test[:8000].astype(int), d.y_test[8000:].astype(int)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    log: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.log.append(self.path)
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        kind, body = route
        if kind == "ok":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "cut":  # announce the whole file, send half, hang up
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """A server on 127.0.0.1; set ``server.routes[path] = (kind, bytes)`` with kind ok/html/cut."""
    _Handler.routes = {}
    _Handler.log = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.routes = _Handler.routes
    server.log = _Handler.log
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def ctrl_c_as_in_a_terminal():
    """SIGINT raises KeyboardInterrupt in this process, and a child it starts gets SIGINT at its default.

    A shell starts a foreground command so, whatever its own parent did; but a test runner started in
    the background of a script (``cmd &``) ignores SIGINT, its children inherit that, and Python (and
    chainrule with it) then rightly leaves Ctrl-C ignored. Tests of Ctrl-C put the terminal's state
    back for their duration and restore the runner's after.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)   # caught handlers reset on exec
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)



# ---- a real browser: Debian's chromium driven by Playwright (scripts/ensure-chromium installs it) ------
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts; --no-sandbox because
# CI runs as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Playwright). Skipped where chromium or playwright is missing, unless
    CHAINRULE_REQUIRE_BROWSER=1 (``.ci/run`` sets it after installing chromium), where that fails."""
    import os
    import shutil
    required = os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1"
    exe = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("playwright is not installed (pip install -e '.[test]')")
        pytest.skip("playwright is not installed")
    if exe is None:
        if required:
            pytest.fail("chromium is not installed: run scripts/ensure-chromium")
        pytest.skip("chromium is not installed (scripts/ensure-chromium installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def block_non_local(page) -> list:
    """Refuse every request that does not go to 127.0.0.1/localhost or a file:// URL; returns the
    list the refused URLs are appended to (what the page tried to fetch from the network)."""
    from urllib.parse import urlparse
    refused: list = []

    def route(r):
        u = urlparse(r.request.url)
        if u.scheme in ("file", "data", "blob") or u.hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    return refused


@pytest.fixture
def offline_page(browser):
    """A fresh page (its own context) whose non-local requests are refused: ``page.refused`` lists them."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.refused = block_non_local(page)
    yield page
    context.close()
