"""The server over real sockets on 127.0.0.1: what it serves, what it refuses (foreign Host, other
origins), the session and upload limits, and the protocol the page speaks (a bad setting gets its
message and the server keeps serving; a closed tab stops its training)."""
import http.client
import json
import time

import numpy as np
import pytest

from chainrule import io


def request(server, method="GET", path="/", headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    out = r.status, dict(r.getheaders()), r.read().decode("utf-8", "replace")
    conn.close()
    return out


def test_the_page_and_its_assets_are_served_with_a_strict_policy(playground_server):
    status, headers, body = request(playground_server)
    assert status == 200 and 'id="boundary"' in body and 'id="train-loss"' in body
    assert "connect-src 'self'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    for asset in ("app.js", "draw.js", "network.js", "style.css"):
        status, _, text = request(playground_server, path=f"/static/{asset}")
        assert status == 200 and len(text) > 500
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")    # nothing from the network


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", ""])
def test_a_foreign_host_header_is_refused(playground_server, host):
    status, _, body = request(playground_server, headers={"Host": host})
    assert status == 400 and "not the address this server serves" in body


def test_localhost_by_name_is_this_server(playground_server):
    assert request(playground_server, headers={"Host": f"localhost:{playground_server.port}"})[0] == 200


def test_cross_origin_writes_are_refused_and_nothing_is_written(playground_server):
    status, _, body = request(playground_server, "POST", "/ws", {"Origin": "http://evil.example"}, "x")
    assert status == 403 and "another site" in body
    status, _, _ = request(playground_server, "POST", "/", {"Origin": playground_server.url.rstrip("/")}, "x")
    assert status == 405                                           # same origin: there is nothing to write
    status, _, _ = request(playground_server, "POST", "/", {"Sec-Fetch-Site": "cross-site"}, "x")
    assert status == 403


def test_static_files_cannot_reach_outside_their_folder(playground_server):
    for path in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2fsettings.py"):
        assert request(playground_server, path=path)[0] == 404


def test_websockets_from_another_origin_or_host_are_refused(playground_server, connect):
    from websockets.exceptions import InvalidStatus
    with pytest.raises(InvalidStatus) as info:
        connect(playground_server, origin="http://evil.example")
    assert info.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(playground_server, host="evil.example")
    assert playground_server.wait_sessions(0) == 0


def test_a_bad_setting_gets_its_message_and_the_server_keeps_serving(client):
    layout, frame = client.configure()
    assert layout["inputs"] == ["x1", "x2"] and frame["epoch"] == 0
    client.send(type="settings", settings={"lr": "-3"})
    err = client.until("error")
    assert err["key"] == "lr" and "lr must be in (0, 100]; got '-3'" in err["message"]
    client.send(type="step", what="epoch")                  # the previous run is still there
    assert client.until("frame")["epoch"] == 1
    client.send(type="nonsense")
    assert "unknown message type" in client.until("error")["message"]
    client.ws.send("{not json")
    assert "unreadable message" in client.until("error")["message"]
    client.send(type="chain", layer=9, out=0, **{"in": 0})
    assert "layer must be" in client.until("error")["message"]
    assert request(client_server(client))[0] == 200


def client_server(client):
    return type("S", (), {"port": client.ws.remote_address[1]})


def test_play_pause_step_and_chain_over_the_socket(client):
    client.configure(dataset="spiral", classes=3, speed=0)
    client.send(type="play")
    epochs = [client.until("frame")["epoch"] for _ in range(4)]
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0]
    client.send(type="pause")
    client.send(type="step", what="batch")
    client.send(type="chain", layer=1, out=3, **{"in": 2})
    c = client.until("chain")
    assert c["engine_agrees"] and c["relative_error"] < 1e-5 and c["name"] == "2.weight[3, 2]"


def test_the_downloaded_model_loads(client, tmp_path):
    client.configure(hidden="4", batchnorm=1)
    client.send(type="download")
    data = client.until("bytes")
    (tmp_path / "m.safetensors").write_bytes(data)
    net = io.load(tmp_path / "m.safetensors")
    assert net[0].weight.value.shape == (4, 2) and np.isfinite(net.forward(np.zeros((1, 2), np.float32))).all()


def test_a_diverging_run_says_so(client):
    client.configure(dataset="curve", loss="l2", features="x1", poly=8, hidden="", lr=50, batch=1000, speed=0)
    client.send(type="play")
    msg = client.until("diverged")
    assert "overflowed at epoch" in msg["message"] and "learning rate 50" in msg["message"]


def test_uploads_within_and_past_the_limit(small_server, connect):
    c = connect(small_server)
    rows = "".join(f"{np.cos(i)},{np.sin(i)},{i % 2}\n" for i in range(40))
    c.send(type="upload", text=rows)
    up = c.until("uploaded")
    assert (up["rows"], up["dims"], up["classes"]) == (40, 2, 2)
    layout, _ = c.configure(dataset="upload")
    assert len(layout["train"]["x"]) + len(layout["test"]["x"]) == 40
    c.send(type="upload", text="0,0,1\n" * 400)                  # 2,400 bytes: past this server's 2,000
    err = c.until("error")
    assert "the file is 2,400 bytes; the playground takes files of at most 2,000 bytes" in err["message"]
    c.send(type="upload", text="1,2\n3,x\n")
    assert "line 2: value 2 ('x') is not a number" in c.until("error")["message"]
    c.close()


def test_the_session_limit_has_a_clear_message_and_a_closed_tab_frees_its_place(small_server, connect):
    a, b = connect(small_server), connect(small_server)
    assert small_server.wait_sessions(2) == 2
    c = connect(small_server)
    assert c.hello["type"] == "error" and c.hello["fatal"]
    assert "already has 2 tabs open, its limit" in c.hello["message"]
    a.configure(speed=0)
    a.send(type="play")
    a.until("frame")
    a.close()                                  # closing the tab stops its training and frees the place
    assert small_server.wait_sessions(1) == 1
    d = connect(small_server)
    assert d.hello["type"] == "hello"
    for x in (b, c, d):
        x.close()
    assert small_server.wait_sessions(0) == 0


def test_closing_the_socket_stops_the_training(small_server, connect):
    a = connect(small_server)
    a.configure(speed=0, hidden="32,32,32")
    a.send(type="play")
    a.until("frame")
    (run,) = small_server.app.state.sessions.connections
    session = run.session
    a.close()
    assert small_server.wait_sessions(0) == 0
    assert run.closed and not run.playing and run.play_task.done()
    steps = session.batches
    time.sleep(0.3)
    assert session.batches == steps                    # no batch was trained after the tab went away


@pytest.mark.parametrize("name, bound, ok", [
    ("127.0.0.1", "127.0.0.1", True), ("localhost", "127.0.0.1", True), ("::1", "127.0.0.1", True),
    ("evil.example", "127.0.0.1", False), ("192.168.1.5", "127.0.0.1", False), (None, "127.0.0.1", False),
    ("192.168.1.5", "0.0.0.0", True), ("localhost", "0.0.0.0", True), ("evil.example", "0.0.0.0", False),
    ("10.0.0.2", "10.0.0.2", True), ("10.0.0.3", "10.0.0.2", False), ("localhost", "10.0.0.2", False),
    ("::1", "::", True), ("myhost.lan", "myhost.lan", True),
])
def test_which_host_headers_name_this_server(name, bound, ok):
    from chainrule.playground.security import host_allowed
    assert host_allowed(name, bound) is ok


@pytest.mark.parametrize("origin, host, ok", [
    ("http://127.0.0.1:8765", "127.0.0.1:8765", True), ("http://127.0.0.1:8766", "127.0.0.1:8765", False),
    ("http://localhost:8765", "127.0.0.1:8765", False), ("null", "127.0.0.1:8765", False),
    ("http://[::1]:8765", "[::1]:8765", True), ("file://", "127.0.0.1:8765", False),
])
def test_same_origin(origin, host, ok):
    from chainrule.playground.security import same_origin
    assert same_origin(origin, host) is ok
