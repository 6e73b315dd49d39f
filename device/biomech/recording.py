"""Raw samples of one biomechanics test, kept with its results so they can be recomputed.

A recording is a time series of channels: the five finger forces in newtons (thumb..little)
for the force tests, or two joint angles in radians for range of motion. Its digest (SHA-256
of everything in it) is stored in every result computed from it, and the recording itself is
saved as ``.npz`` beside the results (atomically).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device import atomic
from device.protocol import FINGER_NAMES

FORMAT = "dystonia-biomech/1"
FORCE_KINDS = ("max", "simultaneous", "independence", "tapping")
ANGLE_CHANNELS = ("flexion_extension", "abduction_adduction")
KINDS = (*FORCE_KINDS, "rom")
HANDS = ("left", "right")


class RecordingError(ValueError):
    """A recording that cannot be used, with the reason."""


@dataclass(frozen=True, eq=False)
class Recording:
    """``values[k, c]`` is channel ``c`` at time ``t[k]`` (seconds, strictly increasing).

    Force recordings (``kind`` in FORCE_KINDS) have the five fingers as channels, in newtons;
    ``limit`` holds each channel's saturation force (the reading of a clipped sensor; ``inf``
    when unknown). ``finger`` is the designated finger (``None`` for simultaneous exertion);
    ``target`` the force the person was asked to hold (independence), in newtons.
    A ``rom`` recording has two channels (ANGLE_CHANNELS), in radians, of one ``finger``.
    """

    kind: str
    hand: str
    finger: str | None
    t: np.ndarray
    values: np.ndarray
    limit: np.ndarray = field(default=None)  # type: ignore[assignment]
    target: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise RecordingError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.hand not in HANDS:
            raise RecordingError(f"hand must be one of {HANDS}, got {self.hand!r}")
        if self.finger is not None and self.finger not in FINGER_NAMES:
            raise RecordingError(f"finger must be one of {FINGER_NAMES}, got {self.finger!r}")
        if self.finger is None and self.kind != "simultaneous":
            raise RecordingError(f"a {self.kind} recording needs its designated finger")
        t = np.asarray(self.t, dtype=np.float64)
        values = np.asarray(self.values, dtype=np.float64)
        channels = len(self.channels)
        if t.ndim != 1 or t.size < 2:
            raise RecordingError(f"t must be a 1-D array of at least 2 times, got shape {t.shape}")
        if values.shape != (t.size, channels):
            raise RecordingError(
                f"values must have shape ({t.size}, {channels}), got {values.shape}"
            )
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise RecordingError("t must be finite and strictly increasing")
        if not np.all(np.isfinite(values)):
            raise RecordingError("values contain NaN or infinity (a sensor dropped out?)")
        limit = np.full(channels, np.inf) if self.limit is None else np.asarray(
            self.limit, dtype=np.float64)
        if limit.shape != (channels,) or np.any(np.isnan(limit)):
            raise RecordingError(f"limit must hold {channels} numbers, got {self.limit!r}")
        if self.kind == "independence" and not (self.target is not None and self.target > 0):
            raise RecordingError("an independence recording needs a positive target force")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "limit", limit)

    @property
    def channels(self) -> tuple[str, ...]:
        return ANGLE_CHANNELS if self.kind == "rom" else FINGER_NAMES

    def channel(self, name: str) -> np.ndarray:
        return self.values[:, self.channels.index(name)]

    def clipped(self) -> np.ndarray:
        """(N, C) bool: samples at or beyond their channel's saturation force."""
        return self.values >= self.limit[None, :]

    def header(self) -> dict:
        return {"format": FORMAT, "kind": self.kind, "hand": self.hand, "finger": self.finger,
                "target": self.target}

    def digest(self) -> str:
        h = hashlib.sha256(json.dumps(self.header(), sort_keys=True).encode())
        for array in (self.t, self.values, self.limit):
            h.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
        return h.hexdigest()

    def save(self, path: Path) -> Path:
        buffer = io.BytesIO()
        np.savez(buffer, header=np.array(json.dumps(self.header())), t=self.t,
                 values=self.values, limit=self.limit)
        atomic.write_bytes(Path(path), buffer.getvalue())
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> Recording:
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                t, values, limit = data["t"], data["values"], data["limit"]
        except (OSError, ValueError, KeyError) as exc:
            raise RecordingError(f"{path}: not a biomechanics recording ({exc})") from exc
        if header.get("format") != FORMAT:
            raise RecordingError(f"{path}: format is not {FORMAT}")
        return cls(kind=header["kind"], hand=header["hand"], finger=header["finger"], t=t,
                   values=values, limit=limit, target=header["target"])
