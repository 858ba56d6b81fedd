"""The page in a real browser (headless Debian chromium through Playwright) against a real server on
127.0.0.1, every non-local request refused: XOR learns, the boundary changes, two tabs train
independently, a bad setting shows its message while the server keeps serving, the hash restores the
page, the chain-rule view answers a click, and a downloaded model predicts what the page showed.

With CHAINRULE_SCREENSHOTS=docs/images/playground the screenshots of the guide are written there.
"""
import os
from pathlib import Path

import numpy as np
import pytest

from chainrule import io
from chainrule.playground.session import Session
from chainrule.playground.settings import parse_settings

pytest.importorskip("playwright")


def refuse_non_local(page):
    """The root conftest's rule for a page opened here: only 127.0.0.1/localhost, data: and blob:."""
    from urllib.parse import urlparse
    page.refused = []

    def route(r):
        u = urlparse(r.request.url)
        if u.scheme in ("data", "blob") or u.hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            page.refused.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    return page


def open_page(page, server, hash_=""):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    page.goto(server.url + ("#" + hash_ if hash_ else ""))
    wait_until(page, "document.querySelector('#boundary').dataset.frames >= 1", timeout=20000)
    return page


def wait_until(page, js, timeout=20000):
    """Poll ``js`` (an expression) until it is true. (Playwright's wait_for_function compiles its predicate
    with eval, which the page's Content-Security-Policy rightly refuses.)"""
    import time
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(js):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:g} s: {js}")
        page.wait_for_timeout(50)


def number(page, sel):
    return float(page.inner_text(sel))


def epoch(page):
    return int(page.inner_text("#epoch"))


def boundary_pixels(page):
    return page.evaluate("document.querySelector('#boundary').toDataURL()")


def shoot(page, name, tmp_path):
    folder = Path(os.environ.get("CHAINRULE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_xor_learns_and_the_boundary_changes(offline_page, playground_server, tmp_path):
    page = open_page(offline_page, playground_server, "dataset=xor&speed=5")
    assert epoch(page) == 0
    first_loss, first_picture = number(page, "#test-loss"), boundary_pixels(page)
    page.click("#play")
    wait_until(page, "Number(document.querySelector('#epoch').textContent) >= 60", timeout=30000)
    page.click("#play")                                     # pause
    assert number(page, "#test-loss") < 0.2 * first_loss
    assert float(page.inner_text("#test-acc").split()[0]) > 95
    assert boundary_pixels(page) != first_picture
    assert "play=0" in page.url
    shoot(page, "xor", tmp_path)
    assert page.refused == [] and page.errors == []


def test_two_tabs_train_independently_and_a_closed_tab_stops(offline_page, playground_server):
    a = open_page(offline_page, playground_server, "dataset=spiral&classes=3&speed=0&play=1")
    b = open_page(refuse_non_local(offline_page.context.new_page()), playground_server, "dataset=gauss&classes=4")
    wait_until(a, "Number(document.querySelector('#epoch').textContent) >= 20", timeout=30000)
    assert epoch(b) == 0
    assert b.inner_text("#network-summary").endswith("4 outputs")
    assert a.inner_text("#network-summary").endswith("3 outputs")
    b.click("#step-epoch")
    wait_until(b, "document.querySelector('#epoch').textContent === '1'")
    assert epoch(a) >= 20
    assert playground_server.wait_sessions(2) == 2
    a.close()
    assert playground_server.wait_sessions(1) == 1
    assert b.refused == [] and b.errors == []


def test_a_bad_setting_shows_its_message_and_the_server_keeps_serving(offline_page, playground_server):
    page = open_page(offline_page, playground_server)
    page.fill('[data-key="lr"]', "-1")
    page.dispatch_event('[data-key="lr"]', "change")
    page.wait_for_selector("#message:not([hidden])")
    assert "lr must be in (0, 100]; got '-1'" in page.inner_text("#message")
    assert "invalid" in page.get_attribute('[data-key="lr"]', "class")
    page.click("#step-epoch")                              # the last good run still trains
    wait_until(page, "document.querySelector('#epoch').textContent === '1'")
    page.fill('[data-key="lr"]', "0.05")
    page.dispatch_event('[data-key="lr"]', "change")
    page.wait_for_selector("#message", state="hidden")              # the new run's layout came back ...
    wait_until(page, "document.querySelector('#epoch').textContent === '0'")   # ... and its first frame
    assert "lr=0.05" in page.url and epoch(page) == 0
    assert page.refused == []


def test_the_hash_restores_the_page_and_play_starts_it(offline_page, playground_server):
    h = ("dataset=circle&classes=3&features=x1,x2,x1sq,x2sq&hidden=5,3&activation=relu,sigmoid&loss=hinge"
         "&regularizer=l2&alpha=0.01&dropout=0.1&optimizer=adam&lr=0.02&batch=20&noise=0.1&train_pct=60&seed=4"
         "&play=1")
    page = open_page(offline_page, playground_server, h)
    wait_until(page, "Number(document.querySelector('#epoch').textContent) >= 2", timeout=20000)
    assert page.input_value('[data-key="optimizer"]') == "adam" and page.input_value('[data-key="lr"]') == "0.02"
    assert page.is_checked('#features input[value="x2sq"]') and not page.is_checked('#features input[value="xor"]')
    assert page.inner_text("#network-summary").startswith("4 inputs → 5 → 3 → 3 outputs")
    assert page.inner_text("#output-summary").startswith("3 classes")
    assert page.refused == [] and page.errors == []


def test_a_click_on_a_weight_shows_the_chain_rule(offline_page, playground_server, tmp_path):
    page = open_page(offline_page, playground_server, "dataset=spiral&classes=3&hidden=6,6&speed=0")
    for _ in range(3):
        page.click("#step-epoch")
    wait_until(page, "document.querySelector('#epoch').textContent === '3'")
    box = page.locator('#network canvas[data-col="1"][data-idx="2"]').bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)       # a neuron: its bias
    page.wait_for_selector("#chain table")
    assert "the bias b" in page.inner_text("#chain h3")
    src = page.locator('#network canvas[data-col="0"][data-idx="0"]').bounding_box()
    dst = page.locator('#network canvas[data-col="1"][data-idx="0"]').bounding_box()
    x = (src["x"] + src["width"] + dst["x"]) / 2
    y = (src["y"] + src["height"] / 2 + dst["y"] + dst["height"] / 2) / 2
    page.mouse.click(x, y)                                                              # the line x1 -> neuron 1
    wait_until(page, "document.querySelector('#chain h3').textContent.includes('0.weight[0, 0]')")
    text = page.inner_text("#chain")
    assert "✓ the same" in text and "numerical (central differences, float64)" in text
    rel = float(text.split("relative error")[1].split()[0])
    assert rel < 1e-5
    shoot(page, "chain-rule", tmp_path)


def test_the_downloaded_model_predicts_what_the_page_showed(offline_page, playground_server, tmp_path):
    h = "dataset=gauss&classes=3&hidden=6&features=x1,x2,x1x2&seed=2&batchnorm=1"
    page = open_page(offline_page, playground_server, h)
    for k in range(1, 4):
        page.click("#step-epoch")
        wait_until(page, f"document.querySelector('#epoch').textContent === '{k}'")
    shown_loss = number(page, "#test-loss")
    shown_acc = float(page.inner_text("#test-acc").split()[0])
    with page.expect_download() as info:
        page.click("#download-model")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == "playground-model.safetensors"
    net = io.load(path)
    # the same settings draw the same points; the file's network sees their features
    run = Session(parse_settings({k: v for k, v in (p.split("=") for p in h.split("&"))}))
    scores = net.forward(run.F_test)
    loss = float(run.task.loss().forward(scores.astype(np.float32), run.T_test))
    assert f"{loss:.4f}" == f"{shown_loss:.4f}"
    assert 100 * np.mean(scores.argmax(axis=1) == run.data.y_test) == pytest.approx(shown_acc, abs=0.05)
    with page.expect_download() as png:
        page.click("#download-png")
    png.value.save_as(tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.refused == []


def test_a_diverging_run_says_what_happened(offline_page, playground_server, tmp_path):
    page = open_page(offline_page, playground_server,
                     "dataset=curve&loss=l2&features=x1&poly=8&hidden=&lr=50&batch=1000&points=40&speed=1&play=1")
    page.wait_for_selector("#message.warn", timeout=20000)
    text = page.inner_text("#message")
    assert "the loss overflowed at epoch" in text and "with learning rate 50" in text
    assert "▶ play" in page.inner_text("#play")
    shoot(page, "diverged", tmp_path)


@pytest.mark.slow
def test_screenshots_of_the_notes_pictures(offline_page, playground_server, tmp_path):
    """The guide's other pictures: over-fitting with a polynomial of high degree, and the spirals."""
    page = open_page(offline_page, playground_server,
                     "dataset=curve&loss=l2&features=x1&poly=7&hidden=&points=20&noise=0.3&optimizer=adam&lr=0.05"
                     "&batch=20&speed=0&play=1")
    wait_until(page, "Number(document.querySelector('#epoch').textContent) >= 600", timeout=60000)
    page.click("#play")
    shoot(page, "overfitting", tmp_path)
    page = open_page(refuse_non_local(offline_page.context.new_page()), playground_server,
                     "dataset=spiral&classes=3&hidden=16,16&activation=relu&optimizer=adam&lr=0.01&speed=0&play=1")
    wait_until(page, "Number(document.querySelector('#epoch').textContent) >= 100", timeout=60000)
    page.click("#play")
    shoot(page, "spiral", tmp_path)
