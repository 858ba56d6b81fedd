"""Issue 23, criterion 4: how fast `chainrule playground` trains and draws a 2-8-8-2 network on 500 points
(XOR, 250 training points in batches of 10), pictures and curves included.

It starts the real server (`chainrule playground --port 0 --no-browser`) in a subprocess and measures,
for SECONDS each:

1. a WebSocket client that acknowledges every frame at once (the server's side alone: training,
   the boundary grid, every neuron's map, the weights, the curves, JSON), at full speed (speed=0);
2. the same at the page's default pace (speed=2 epochs per frame);
3. the page itself in headless chromium (if Playwright and chromium are there), at full speed:
   epochs counted by #epoch, frames counted as the page paints them (#boundary's data-frames).

Usage: python benchmarks/playground_speed.py [SECONDS]   (default 10; the machine is shared: say so)
"""
import json
import os
import shutil
import subprocess
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
NET = {"dataset": "xor", "points": 500, "train_pct": 50, "hidden": "8,8", "activation": "tanh", "batch": 10}


def client_run(url, speed):
    from websockets.sync.client import connect
    with connect(url.replace("http", "ws") + "ws", origin=url.rstrip("/"), max_size=None) as ws:
        json.loads(ws.recv())                                    # hello
        ws.send(json.dumps({"type": "settings", "settings": {**NET, "speed": speed}}))
        frames, first, last = 0, None, None
        ws.send(json.dumps({"type": "play"}))
        start = time.perf_counter()
        while time.perf_counter() - start < SECONDS:
            msg = json.loads(ws.recv())
            if msg["type"] != "frame":
                continue
            ws.send('{"type":"ack"}')
            if first is None:
                first, t0 = msg, time.perf_counter()
            frames += 1
            last, t1 = msg, time.perf_counter()
        ws.send('{"type":"pause"}')
    dt = t1 - t0
    return {"epochs_per_s": (last["epoch"] - first["epoch"]) / dt, "frames_per_s": (frames - 1) / dt,
            "frame_bytes": len(json.dumps(last))}


def browser_run(url):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    exe = shutil.which("chromium")
    if exe is None:
        return None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = b.new_page(viewport={"width": 1280, "height": 900})
        hash_ = "&".join(f"{k}={v}" for k, v in {**NET, "speed": 0, "play": 1}.items())
        page.goto(f"{url}#{hash_}")
        read = "[Number(document.querySelector('#epoch').textContent), Number(document.querySelector('#boundary').dataset.frames || 0)]"
        page.wait_for_timeout(2000)                              # warm up (numba, first frames)
        e0, f0 = page.evaluate(read)
        t0 = time.perf_counter()
        page.wait_for_timeout(SECONDS * 1000)
        e1, f1 = page.evaluate(read)
        dt = time.perf_counter() - t0
        b.close()
    return {"epochs_per_s": (e1 - e0) / dt, "frames_per_s": (f1 - f0) / dt}


def main():
    server = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--port", "0", "--no-browser"],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split()[2]
        client_run(url, 0)                                       # warm-up: compile, first allocations
        results = {"client, speed=0 (full)": client_run(url, 0), "client, speed=2 (default)": client_run(url, 2),
                   "chromium page, speed=0": browser_run(url)}
    finally:
        server.terminate()
        server.wait(10)
    print(f"2-8-8-2 tanh on XOR, 500 points (250 training, batches of 10), {SECONDS:g} s each, "
          f"{os.cpu_count()} cores (shared):")
    for name, r in results.items():
        if r is None:
            print(f"  {name:28s} skipped (no playwright or chromium)")
        else:
            extra = f", {r['frame_bytes'] / 1000:.0f} kB a frame" if "frame_bytes" in r else ""
            print(f"  {name:28s} {r['epochs_per_s']:7.1f} epochs/s  {r['frames_per_s']:5.1f} frames/s{extra}")


if __name__ == "__main__":
    main()
