"""Video sources behind one interface: each yields ``(t_s, frame_rgb)`` in order.

``t_s`` is in seconds on one clock per source: for a video file, time since the file's
first frame; for cameras, the kernel's monotonic clock (the frame's sensor or buffer
timestamp), the clock the key sensors are mapped to. ``frame_rgb`` is uint8 (H, W, 3) RGB.
picamera2 is imported only when a Raspberry Pi camera is opened.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

# A file is called truncated when fewer frames decode than its header announces, beyond
# this allowance (containers round their frame count).
MISSING_FRAMES_ALLOWED = 2


class VideoError(RuntimeError):
    """A video that cannot be opened or read to its end; the message names it."""


class VideoSource(Protocol):
    width: int
    height: int
    fps: float

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """(t_s, frame_rgb) pairs until the source ends (a file) or is closed (a camera)."""
        ...

    def close(self) -> None: ...


class FileSource:
    """A video file through OpenCV."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: video file not found")
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise VideoError(f"{self.path}: cannot be opened as a video (not a video, or "
                             "damaged or cut short)")
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        if not (math.isfinite(fps) and fps > 0):
            raise VideoError(f"{self.path}: the video gives no frame rate")
        self.fps = fps
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        index = 0
        last_t = -math.inf
        use_stream_time = True
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                break
            stream_s = float(self._capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000
            # The container's timestamps while they increase; from the first one that does
            # not (or if there are none), the frame index over the frame rate.
            if use_stream_time and not (math.isfinite(stream_s) and stream_s > last_t):
                use_stream_time = False
            t = stream_s if use_stream_time else index / self.fps
            if t <= last_t:
                t = last_t + 1 / self.fps
            last_t = t
            index += 1
            yield t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if index == 0:
            raise VideoError(f"{self.path}: no frame could be decoded")
        if self.frame_count > 0 and index < self.frame_count - MISSING_FRAMES_ALLOWED:
            raise VideoError(f"{self.path}: truncated or damaged: only {index} of "
                             f"{self.frame_count} frames could be decoded")

    def close(self) -> None:
        self._capture.release()


class UvcSource:
    """A USB (UVC) webcam through OpenCV's V4L2 backend, MJPG compressed."""

    def __init__(self, device: str, width: int = 1280, height: int = 720,
                 fps: float = 60.0) -> None:
        self.device = device
        self._capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if not self._capture.isOpened():
            raise VideoError(f"camera {device}: cannot be opened through V4L2 (is it plugged "
                             "in, and is the user in the video group?)")
        self._capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._capture.set(cv2.CAP_PROP_FPS, fps)
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS)) or fps
        if (self.width, self.height) != (width, height):
            self.close()
            raise VideoError(f"camera {device}: gives {self.width}x{self.height}, not the "
                             f"configured {width}x{height}")

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                raise VideoError(f"camera {self.device}: stopped delivering frames")
            # V4L2 buffer timestamp (monotonic clock) in ms; the read time if the driver has none
            stamp_ms = float(self._capture.get(cv2.CAP_PROP_POS_MSEC))
            t = stamp_ms / 1000 if stamp_ms > 0 else time.monotonic()
            yield t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


class Picamera2Source:
    """The Raspberry Pi camera (Camera Module 3) through picamera2, on the Pi only."""

    def __init__(self, width: int = 1280, height: int = 720, fps: float = 60.0) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise VideoError("picamera2 is not installed (it comes from Raspberry Pi OS: "
                             "apt install python3-picamera2)") from None
        frame_us = round(1e6 / fps)
        self.width, self.height, self.fps = width, height, fps
        try:
            self._camera: Any = Picamera2()
            # picamera2's "BGR888" is R, G, B in memory order: an RGB array
            config = self._camera.create_video_configuration(
                main={"size": (width, height), "format": "BGR888"},
                controls={"FrameDurationLimits": (frame_us, frame_us)},
            )
            self._camera.configure(config)
            self._camera.start()
        except (RuntimeError, IndexError) as exc:
            raise VideoError(f"Raspberry Pi camera: cannot be started ({exc}); check the "
                             "ribbon cable and that no other program uses the camera") from None

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        while True:
            request = self._camera.capture_request()
            try:
                frame = request.make_array("main")
                sensor_ns = request.get_metadata()["SensorTimestamp"]
            finally:
                request.release()
            yield sensor_ns / 1e9, frame[:, :, :3]

    def close(self) -> None:
        self._camera.stop()
        self._camera.close()


def open_source(kind: str, device: str = "/dev/video0", width: int = 1280, height: int = 720,
                fps: float = 60.0) -> VideoSource:
    """A source by the configuration's ``camera.source`` name: picamera2, v4l2 or file."""
    if kind == "picamera2":
        return Picamera2Source(width, height, fps)
    if kind == "v4l2":
        return UvcSource(device, width, height, fps)
    if kind == "file":
        return FileSource(device)
    raise ValueError(f"unknown video source {kind!r}: expected picamera2, v4l2 or file")
