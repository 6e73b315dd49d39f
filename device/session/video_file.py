"""Writing a recording's video: Motion-JPEG in an AVI container, atomically.

MJPG, because each frame is compressed on its own (no reference frames to buffer, cheap to
encode, and a take cut short by a crash loses only its tail) and OpenCV decodes it again for
the analysis. OpenCV's FFmpeg backend encodes it about twice as fast as OpenCV's own MJPEG
writer; the latter is the fallback when OpenCV was built without FFmpeg.

The frames go to ``.<name>.part.avi`` beside the target (the backends pick the container from
the extension); ``finish`` releases the writer, fsyncs the file, renames it to the target and
fsyncs the directory. ``discard`` removes the partial file.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from device.atomic import fsync_dir

PARTIAL_SUFFIX = ".part.avi"
BACKENDS = (cv2.CAP_FFMPEG, cv2.CAP_OPENCV_MJPEG)


class VideoWriteError(RuntimeError):
    """The video file cannot be written; the message names it."""


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}{PARTIAL_SUFFIX}")


class MjpegWriter:
    """Frames (RGB uint8, all ``width`` x ``height``) to ``path``, which must end in .avi."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        if path.suffix != ".avi":
            raise VideoWriteError(f"{path}: a recording's video must be an .avi file")
        self.path = path
        self.size = (width, height)
        self.frames = 0
        self._partial = partial_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fourcc = cv2.VideoWriter_fourcc(*"MJPG")
        for backend in BACKENDS:
            writer = cv2.VideoWriter(str(self._partial), backend, fourcc, fps, self.size)
            if writer.isOpened():
                self._writer = writer
                break
        else:
            raise VideoWriteError(f"{self._partial}: OpenCV cannot write MJPG video here "
                                  "(is the data directory writable and not full?)")

    def write(self, rgb: np.ndarray) -> None:
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            raise VideoWriteError(f"{self.path}: frame of {rgb.shape[1]}x{rgb.shape[0]} in a "
                                  f"{self.size[0]}x{self.size[1]} video")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def finish(self) -> Path:
        """Close, fsync and rename into place; returns the final path."""
        self._writer.release()
        fd = os.open(self._partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self._partial, self.path)
        fsync_dir(self.path.parent)
        return self.path

    def discard(self) -> None:
        self._writer.release()
        self._partial.unlink(missing_ok=True)
