"""One tab's WebSocket: the messages the page sends, the run they drive, and the frames sent back.

Training runs in a worker thread, one slice at a time (a few epochs, or as many as fit in a frame's
time), then the pictures of that moment are sent; the next slice starts once the page has drawn
the last frame (it answers ``ack``), so a slow page slows the run instead of queueing pictures.
Everything that touches the run goes through one lock, so a click (a step, the chain-rule view, a
download) never runs beside a training slice. Closing the tab closes the socket, which ends the
loop: its training stops after the current batch and the run is dropped.

Messages from the page (JSON objects, ``type`` first): ``settings`` (the hash's values),
``play``, ``pause``, ``step`` (``what``: ``"batch"`` or ``"epoch"``), ``reset``, ``upload``
(``text``: a CSV file's content), ``chain`` (``layer``, ``out``, ``in``), ``download`` and ``ack``.
Answers: ``layout``, ``frame``, ``chain``, ``uploaded``, ``error`` (``key`` names the setting),
``diverged``, and one binary message, the model file, after ``download``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from .. import io
from ..errors import TrainingDiverged
from .chain import explain
from .pictures import Pictures
from .session import Session
from .settings import Settings, SettingError, parse_settings
from .upload import UploadError, parse_csv

log = logging.getLogger("chainrule.playground")

FRAME_INTERVAL = 0.05      # at most 20 frames a second
FULL_SPEED_SLICE = 0.05    # speed 0: train this long between frames
MAX_SLICE = 0.5            # a slice of N epochs stops after this long (the page stays responsive)
ACK_TIMEOUT = 2.0          # a page that does not answer is sent the next frame anyway


def model_file_bytes(net) -> bytes:
    """The network as a chainrule model file (``chainrule.io.save``), as bytes."""
    with tempfile.TemporaryDirectory(prefix="chainrule-playground-") as tmp:
        path = os.path.join(tmp, "model.safetensors")
        io.save(net, path)
        with open(path, "rb") as f:
            return f.read()


class Connection:
    """The run of one tab, driven by its WebSocket.

    Parameters
    ----------
    websocket : starlette.websockets.WebSocket
        The accepted socket.
    max_upload : int
        The largest CSV file accepted, in bytes.
    """

    def __init__(self, websocket, max_upload: int):
        self.ws = websocket
        self.max_upload = max_upload
        self.session: Session | None = None
        self.pictures: Pictures | None = None
        self.upload = None
        self.playing = False
        self.closed = False
        self.lock = asyncio.Lock()
        self.acked = asyncio.Event()
        self.acked.set()
        self.play_task: asyncio.Task | None = None

    # -- plumbing -----------------------------------------------------------------------------------
    async def send(self, message: dict) -> None:
        if not self.closed:
            await self.ws.send_text(json.dumps(message, allow_nan=False, separators=(",", ":")))

    async def call(self, fn, *args):
        """``fn(*args)`` in a worker thread, never beside another call on this run."""
        async with self.lock:
            return await run_in_threadpool(fn, *args)

    async def run(self) -> None:
        """Answer the page's messages until it goes away; then stop training."""
        try:
            await self.send({"type": "hello", "defaults": Settings().to_hash(), "max_upload": self.max_upload})
            while True:
                text = await self.ws.receive_text()
                await self.handle(text)
        except WebSocketDisconnect:
            pass
        finally:
            self.closed = True
            self.playing = False
            if self.play_task is not None:
                await asyncio.gather(self.play_task, return_exceptions=True)

    async def handle(self, text: str) -> None:
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict):
                raise ValueError("a message must be a JSON object with a 'type'")
        except ValueError as exc:
            await self.send({"type": "error", "key": None, "message": f"unreadable message: {exc}"})
            return
        kind = msg.get("type")
        handler = getattr(self, f"on_{kind}", None) if isinstance(kind, str) and kind.isidentifier() else None
        if handler is None:
            await self.send({"type": "error", "key": None, "message": f"unknown message type {str(kind)[:40]!r}"})
            return
        if kind not in ("settings", "upload", "ack") and self.session is None:
            await self.send({"type": "error", "key": None, "message": "send the settings first"})
            return
        try:
            await handler(msg)
        except (SettingError, UploadError, ValueError) as exc:
            await self.send({"type": "error", "key": getattr(exc, "key", None), "message": str(exc)})
        except WebSocketDisconnect:
            raise
        except Exception as exc:    # noqa: BLE001 - told to the page; the server keeps serving
            log.exception("playground: %s failed", kind)
            await self.send({"type": "error", "key": None,
                             "message": f"internal error ({type(exc).__name__}: {exc}); please report it"})

    # -- messages -----------------------------------------------------------------------------------
    async def on_settings(self, msg) -> None:
        dims = None if self.upload is None else self.upload[0].shape[1]
        settings = parse_settings(msg.get("settings", {}), n_upload_inputs=dims)
        if self.session is not None and not msg.get("rebuild") and self.session.upload is self.upload and \
                replace(settings, speed=self.session.settings.speed) == self.session.settings:
            self.session.settings = settings        # the pace only: the run goes on
            return

        def build():
            session = Session(settings, self.upload)
            return session, Pictures(session)

        self.session, self.pictures = await self.call(build)
        await self.send(self.pictures.layout())
        await self.send_frame()

    async def on_reset(self, msg) -> None:
        self.playing = False
        await self.on_settings({"settings": self.session.settings.to_hash(), "rebuild": True})

    async def on_play(self, msg) -> None:
        if self.session.diverged:
            await self.send({"type": "diverged", "message": self.session.diverged})
            return
        self.playing = True
        if self.play_task is None or self.play_task.done():
            self.play_task = asyncio.create_task(self.play())

    async def on_pause(self, msg) -> None:
        self.playing = False

    async def on_ack(self, msg) -> None:
        self.acked.set()

    async def on_step(self, msg) -> None:
        what = msg.get("what")
        if what not in ("batch", "epoch"):
            raise ValueError(f"step needs what='batch' or 'epoch'; got {what!r}")
        self.playing = False

        def work():
            try:
                if what == "batch":
                    self.session.step()
                    if self.session.cursor:
                        self.session.last = self.session.evaluate()
                else:
                    self.session.run_epoch()
            except TrainingDiverged:
                pass
        await self.call(work)
        await self.send_frame()

    async def on_upload(self, msg) -> None:
        text = msg.get("text")
        self.upload = await self.call(parse_csv, text, self.max_upload)
        X, y = self.upload
        await self.send({"type": "uploaded", "rows": int(len(X)), "dims": int(X.shape[1]),
                         "classes": int(y.max()) + 1 if X.shape[1] == 2 else 1})

    async def on_chain(self, msg) -> None:
        inp = msg.get("in")
        result = await self.call(explain, self.session, msg.get("layer"), msg.get("out"), inp)
        await self.send(result)

    async def on_download(self, msg) -> None:
        data = await self.call(model_file_bytes, self.session.net)
        if not self.closed:
            await self.ws.send_bytes(data)

    # -- frames -------------------------------------------------------------------------------------
    async def send_frame(self, frame=None) -> None:
        if frame is None:
            frame = await self.call(self.pictures.frame)
        self.acked.clear()
        await self.send(frame)
        if frame["diverged"]:
            self.playing = False
            await self.send({"type": "diverged", "message": frame["diverged"]})

    def _slice(self, session, pictures, speed: int):
        stop = lambda: not self.playing or self.closed or session is not self.session  # noqa: E731
        try:
            if speed == 0:
                session.train_for(0, FULL_SPEED_SLICE, stop)
            else:
                session.train_for(speed, MAX_SLICE, stop)
        except TrainingDiverged:
            pass
        return pictures.frame()

    async def play(self) -> None:
        loop = asyncio.get_running_loop()
        while self.playing and not self.closed:
            start = loop.time()
            try:
                await asyncio.wait_for(self.acked.wait(), ACK_TIMEOUT)
            except asyncio.TimeoutError:
                pass
            if not self.playing or self.closed:
                break
            session, pictures = self.session, self.pictures
            try:
                frame = await self.call(self._slice, session, pictures, session.settings.speed)
            except Exception as exc:    # noqa: BLE001 - the page is told, training stops, the server serves on
                self.playing = False
                log.exception("playground: training failed")
                await self.send({"type": "error", "key": None, "message": f"training stopped: {exc}"})
                break
            if session is not self.session:       # new settings arrived meanwhile: that frame is stale
                continue
            await self.send_frame(frame)
            wait = FRAME_INTERVAL - (loop.time() - start)
            if wait > 0 and session.settings.speed:
                await asyncio.sleep(wait)
