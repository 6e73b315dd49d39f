"""Recording a step with the real camera and key sensors: record now, analyse later.

A capture thread reads the camera all the time (the latest frame is the preview). While a
step is recorded it also hands every frame to a writer thread through a bounded queue; the
writer compresses it into an MJPG video (see ``video_file``) and keeps its time. A frame that
finds the queue full is dropped and counted, so a slow SD card never stalls the camera.

Clocks: frame times and key events are both seconds on ``time.monotonic``. picamera2's
``SensorTimestamp`` and V4L2 buffer times are CLOCK_MONOTONIC nanoseconds / milliseconds
(``device.vision.sources`` converts them); a video file (``camera.source = "file"``) is
replayed at its own frame rate with its times moved onto the monotonic clock, as if it
were a camera. The key source is drained once, after ``stop()``, so the key bar's clock
mapping has its last re-synchronisation (the key-sensor author's advice).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from device.atomic import atomic_open
from device.config import Config
from device.hardware.keys import Cue, KeyEvent, KeySource, keys_array
from device.platform import is_raspberry_pi
from device.session.recorder import RawRecording, RecorderError
from device.session.steps import Step
from device.session.video_file import MjpegWriter, VideoWriteError
from device.vision.sources import VideoError, VideoSource, open_source

QUEUE_FRAMES = 120  # two seconds at 60 fps between the camera and the video writer
PREVIEW_WIDTH = 640
PREVIEW_QUALITY = 70
JOIN_TIMEOUT_S = 5.0
CLOCK_SLACK_S = 2.0  # frame times must lie within the recording, give or take this
CAMERA_FIX = ("enable the camera (Raspberry Pi camera: check the ribbon cable and that no "
              "other program uses it; USB camera: check it is plugged in and that "
              "{device} exists), then restart the box")

Opener = Callable[[str, str, int, int, float], VideoSource]


class _Capture(threading.Thread):
    """Reads a source until halted; keeps the latest frame and feeds an attached queue."""

    def __init__(self, source: VideoSource, replay: bool) -> None:
        super().__init__(name="camera", daemon=True)
        self.source, self.replay = source, replay
        self.latest: np.ndarray | None = None
        self.error: str | None = None
        self.dropped = 0
        self._sink: queue.Queue[tuple[float, np.ndarray] | None] | None = None
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def attach(self, sink: queue.Queue[tuple[float, np.ndarray] | None]) -> None:
        with self._lock:
            self._sink, self.dropped = sink, 0

    def detach(self) -> int:
        """Stop feeding the queue; returns how many frames it dropped."""
        with self._lock:
            self._sink = None
            return self.dropped

    def halt(self) -> None:
        self._halt.set()
        if self.ident is not None:  # started
            self.join(JOIN_TIMEOUT_S)
        self.source.close()

    def run(self) -> None:
        origin: float | None = None
        try:
            for t, frame in self.source.frames():
                if self._halt.is_set():
                    return
                if self.replay:  # a file played as if live, its times on the monotonic clock
                    if origin is None:
                        origin = time.monotonic() - t
                    t += origin
                    if self._halt.wait(max(0.0, t - time.monotonic())):
                        return
                with self._lock:
                    self.latest = frame
                    if self._sink is not None:
                        try:
                            self._sink.put_nowait((t, frame))
                        except queue.Full:
                            self.dropped += 1
        except VideoError as exc:
            self.error = str(exc)


class _Writing(threading.Thread):
    """Takes frames off the queue into the video file until it receives None."""

    def __init__(self, writer: MjpegWriter) -> None:
        super().__init__(name="video writer", daemon=True)
        self.writer = writer
        self.frames: queue.Queue[tuple[float, np.ndarray] | None] = queue.Queue(QUEUE_FRAMES)
        self.times: list[float] = []
        self.error: str | None = None

    def run(self) -> None:
        while (item := self.frames.get()) is not None:
            if self.error is not None:
                continue  # keep emptying the queue so the camera never blocks
            try:
                self.writer.write(item[1])
                self.times.append(item[0])
            except (VideoWriteError, cv2.error) as exc:
                self.error = str(exc)


def camera_kind(config: Config) -> str:
    """The configured video source, with ``auto`` resolved: the Pi camera on a Pi, else V4L2."""
    kind = config["camera"]["source"]
    if kind == "auto":
        return "picamera2" if is_raspberry_pi() else "v4l2"
    if kind == "synthetic":
        raise RecorderError('camera source "synthetic" is the simulation: set [box] simulate '
                            '= "sim", or [camera] source to picamera2, v4l2 or file')
    return kind


class CameraRecorder:
    """The box's recorder: camera video + frame times + key events, as a ``RawRecording``.

    ``out_dir`` receives the files (the store moves them next to the session's takes).
    ``opener`` is ``device.vision.sources.open_source`` unless a test gives another.
    """

    def __init__(self, config: Config, out_dir: Path, keys: KeySource, *,
                 opener: Opener = open_source) -> None:
        camera = config["camera"]
        self.kind = camera_kind(config)
        self.device = camera["device"]
        self.size = (camera["width"], camera["height"])
        self.fps = float(camera["fps"])
        self.out_dir = Path(out_dir)
        self.keys = keys
        self._opener = opener
        self._capture: _Capture | None = None
        self._writing: _Writing | None = None
        self._step: Step | None = None
        self._participant = ""
        self._started = 0.0
        self._lock = threading.Lock()

    # --- camera ---------------------------------------------------------------------------

    def _new_capture(self) -> _Capture:
        """A capture of a freshly opened camera, not started (RecorderError with the fix)."""
        if self._capture is not None:
            self._capture.halt()
            self._capture = None
        try:
            source = self._opener(self.kind, self.device, *self.size, self.fps)
        except (VideoError, ValueError) as exc:
            raise RecorderError(f"the camera cannot be opened: {exc}. To fix: "
                                + CAMERA_FIX.format(device=self.device)) from None
        self._capture = _Capture(source, replay=self.kind == "file")
        return self._capture

    def _open(self) -> _Capture:
        """The running capture, opening the camera if needed."""
        if self._capture is not None and self._capture.is_alive():
            return self._capture
        capture = self._new_capture()
        capture.start()
        return capture

    def open_camera(self) -> None:
        """Open the camera now rather than on first use; RecorderError says what to fix."""
        with self._lock:
            self._open()

    def preview(self) -> tuple[bytes, str] | None:
        """The latest camera picture as JPEG, or None while the camera has none."""
        with self._lock:
            try:  # a file that has ended is replayed again, but not in the middle of a take
                capture = self._capture if self._writing is not None else self._open()
            except RecorderError:
                return None
            frame = capture.latest if capture is not None else None
        if frame is None:
            return None
        height, width = frame.shape[:2]
        scale = min(1.0, PREVIEW_WIDTH / width)
        small = cv2.resize(frame, (round(width * scale), round(height * scale)))
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
        return (jpeg.tobytes(), "image/jpeg") if ok else None

    # --- recording ------------------------------------------------------------------------

    @property
    def camera_running(self) -> bool:
        """The camera delivers frames (False once a replayed file has ended, or on error)."""
        return self._capture is not None and self._capture.is_alive()

    @property
    def frames_recorded(self) -> int:
        """Frames written so far in the take being recorded (0 when not recording)."""
        writing = self._writing
        return len(writing.times) if writing is not None else 0

    def start(self, step: Step, participant: str) -> None:
        with self._lock:
            if self._writing is not None:
                raise RecorderError("the camera is already recording")
            # a file is replayed from its first frame for each take, started once attached
            replay = self.kind == "file"
            capture = self._new_capture() if replay else self._open()
            base = self.out_dir / (f"t{step.task:02d}_{step.dynamics}_{step.tempo_mode}_"
                                   f"{time.time_ns()}")
            source = capture.source
            try:
                writer = MjpegWriter(base.with_suffix(".avi"), source.width, source.height,
                                     source.fps)
            except VideoWriteError as exc:
                raise RecorderError(str(exc)) from None
            try:
                self.keys.start(Cue(step.task, step.dynamics, step.tempo_mode))
            except RuntimeError as exc:
                writer.discard()
                raise RecorderError(f"the key sensor cannot start: {exc}") from None
            self._writing = _Writing(writer)
            self._writing.start()
            self._step, self._participant = step, participant
            self._started = time.monotonic()
            capture.attach(self._writing.frames)
            if replay:
                capture.start()

    def stop(self) -> RawRecording:
        with self._lock:
            writing, step = self._writing, self._step
            if writing is None or step is None or self._capture is None:
                raise RecorderError("the camera is not recording")
            self._writing, self._step = None, None
            dropped = self._capture.detach()
            camera_error = self._capture.error
            writing.frames.put(None)
            writing.join()
            try:
                self.keys.stop()
                events = self.keys.drain()
            except RuntimeError as exc:
                writing.writer.discard()
                raise RecorderError(f"the key sensor failed during the take: {exc}") from None
            return self._finish(writing, step, dropped, camera_error, events)

    def _finish(self, writing: _Writing, step: Step, dropped: int, camera_error: str | None,
                events: list[KeyEvent]) -> RawRecording:
        problem = writing.error or camera_error
        times = np.asarray(writing.times, dtype=np.float64)
        now = time.monotonic()
        if problem is None and times.size < 2:
            problem = (f"the camera gave {times.size} frame(s); check that it is connected "
                       "and record again")
        if problem is None and not (self._started - CLOCK_SLACK_S <= times[0]
                                    and times[-1] <= now + CLOCK_SLACK_S):
            problem = (f"the camera's frame times ({times[0]:.1f}..{times[-1]:.1f} s) are not "
                       f"on the box's monotonic clock (now {now:.1f} s)")
        if problem is not None:
            writing.writer.discard()
            raise RecorderError(f"the recording could not be kept: {problem}")
        video = writing.writer.finish()
        keys = keys_array(events, end_s=float(times[-1]))
        paths = (video.with_suffix(".times.npy"), video.with_suffix(".keys.npy"))
        for path, array in zip(paths, (times, keys), strict=True):
            with atomic_open(path) as handle:
                np.save(handle, array)
        return RawRecording(
            task=step.task, dynamics=step.dynamics, tempo_mode=step.tempo_mode,
            participant=self._participant, video=video, times=paths[0], keys=paths[1],
            keys_source=self.keys.name, keys_overflowed=self.keys.overflowed,
            frames=int(times.size), dropped_frames=dropped, recorded=time.time())

    def close(self) -> None:
        """Stop the camera and release the key sensor."""
        with self._lock:
            if self._capture is not None:
                self._capture.halt()
                self._capture = None
            self.keys.close()
