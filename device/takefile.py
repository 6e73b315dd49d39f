"""Take files (``*.take.npz``, format ``dystonia-take/1``): contract 1 of DESIGN.md.

One recorded performance of one task. The writer is atomic; the reader checks every
array against the contract and refuses a malformed file with one message that names
the key and the problem.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device.atomic import atomic_open

FORMAT = "dystonia-take/1"
N_LANDMARKS = 21
HANDS = ("left", "right")  # hand axis of `landmarks`: 0 = the person's left hand
MIDI_LOW, MIDI_HIGH = 21, 108
N_TASKS = 11
# landmarks are normalised to the image; a hand partly out of view goes a little past 0..1,
# and anything near this bound is a unit error or garbage that would overflow when squared
MAX_COORDINATE = 10.0
REQUIRED_META = ("tempo_bpm", "tempo_mode", "dynamics", "participant", "source")
TEMPO_MODES = ("fixed", "fastest")
DYNAMICS = ("pp", "ff")
SOURCES = ("camera", "file", "synthetic")
KEYS = ("format", "task", "t", "landmarks", "image_size", "keys", "meta")


class TakeFileError(ValueError):
    """A take file that does not keep the contract. ``key`` names the offending array."""

    def __init__(self, path: Path | str, key: str | None, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        where = f"{self.path}: key '{key}'" if key else self.path
        super().__init__(f"{where}: {problem}")


@dataclass
class Take:
    task: int
    t: np.ndarray  # (T,) float64 seconds
    landmarks: np.ndarray  # (T, 2, 21, 3) float32
    image_size: tuple[int, int]  # width, height in pixels
    keys: np.ndarray  # (N, 4): MIDI note, onset s, release s, velocity 0..1 or NaN
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.t.shape[0])

    def hand(self, name: str) -> np.ndarray:
        """Landmarks of one hand, (T, 21, 3)."""
        return self.landmarks[:, HANDS.index(name)]


def _check_meta(path: Path | str, meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise TakeFileError(path, "meta", f"must be a JSON object, got {type(meta).__name__}")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise TakeFileError(path, "meta", f"missing field(s) {', '.join(missing)}")
    tempo = meta["tempo_bpm"]
    if isinstance(tempo, bool) or not isinstance(tempo, int | float) or not tempo > 0 \
            or not math.isfinite(tempo):
        raise TakeFileError(path, "meta", f"tempo_bpm must be a positive number, got {tempo!r}")
    for name, allowed in (("tempo_mode", TEMPO_MODES), ("dynamics", DYNAMICS),
                          ("source", SOURCES)):
        if meta[name] not in allowed:
            raise TakeFileError(
                path, "meta", f"{name} must be one of {', '.join(allowed)}, got {meta[name]!r}"
            )
    if not isinstance(meta["participant"], str) or not meta["participant"].strip():
        raise TakeFileError(path, "meta", "participant must be a non-empty pseudonym")
    return meta


def validate(take: Take, path: Path | str = "<take>") -> None:
    """Raise TakeFileError unless ``take`` keeps the contract."""
    if isinstance(take.task, bool) or not isinstance(take.task, int | np.integer) \
            or not 1 <= int(take.task) <= N_TASKS:
        raise TakeFileError(path, "task", f"must be a task number 1..{N_TASKS}, got {take.task!r}")
    t = take.t
    if t.dtype != np.float64 or t.ndim != 1:
        raise TakeFileError(path, "t", f"must be float64 of shape (T,), got {t.dtype} {t.shape}")
    if t.shape[0] < 2:
        raise TakeFileError(path, "t", f"needs at least 2 frames, got {t.shape[0]}")
    if not np.all(np.isfinite(t)):
        raise TakeFileError(path, "t", "contains NaN or infinite times")
    steps = np.diff(t)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise TakeFileError(
            path, "t", f"times must be strictly increasing; frame {i + 1} "
            f"({t[i + 1]:.6f} s) does not follow frame {i} ({t[i]:.6f} s)"
        )
    lm = take.landmarks
    expected = (t.shape[0], 2, N_LANDMARKS, 3)
    if lm.dtype != np.float32 or lm.shape != expected:
        raise TakeFileError(
            path, "landmarks", f"must be float32 of shape {expected}, got {lm.dtype} {lm.shape}"
        )
    if np.any(np.isinf(lm)):
        raise TakeFileError(path, "landmarks", "contains infinite values (use NaN for not found)")
    far = np.abs(lm) > MAX_COORDINATE
    if np.any(far):
        frame, hand, landmark, axis = (int(v) for v in np.argwhere(far)[0])
        raise TakeFileError(
            path, "landmarks", f"frame {frame}, {HANDS[hand]} hand, landmark {landmark}: "
            f"{'xyz'[axis]} = {float(lm[frame, hand, landmark, axis]):.3g}; coordinates are "
            f"normalised to the image (x, y about 0..1), at most {MAX_COORDINATE:g} in size")
    size = np.asarray(take.image_size)
    if size.shape != (2,) or not np.issubdtype(size.dtype, np.integer) or np.any(size <= 0):
        raise TakeFileError(
            path, "image_size", f"must be two positive integers (width, height), got {size!r}"
        )
    keys = take.keys
    if keys.dtype != np.float64 or keys.ndim != 2 or keys.shape[1] != 4:
        raise TakeFileError(
            path, "keys", f"must be float64 of shape (N, 4), got {keys.dtype} {keys.shape}"
        )
    if keys.shape[0]:
        notes, onset, release, velocity = keys.T
        if not np.all(np.isfinite(keys[:, :3])):
            raise TakeFileError(path, "keys", "note, onset and release must be finite")
        bad = (notes != np.round(notes)) | (notes < MIDI_LOW) | (notes > MIDI_HIGH)
        if np.any(bad):
            row = int(np.argmax(bad))
            raise TakeFileError(
                path, "keys", f"row {row}: MIDI note {notes[row]:g} is not a whole number "
                f"in {MIDI_LOW}..{MIDI_HIGH}"
            )
        if np.any(release < onset):
            row = int(np.argmax(release < onset))
            raise TakeFileError(path, "keys", f"row {row}: release before onset")
        known = velocity[~np.isnan(velocity)]
        if np.any((known < 0) | (known > 1)):
            raise TakeFileError(path, "keys", "velocity must be within 0..1 or NaN")
    _check_meta(path, take.meta)


def write(path: Path | str, take: Take) -> Path:
    """Validate and write atomically. Returns the path written."""
    path = Path(path)
    validate(take, path)
    arrays = {
        "format": np.array(FORMAT),
        "task": np.array(int(take.task), dtype=np.int64),
        "t": take.t,
        "landmarks": take.landmarks,
        "image_size": np.asarray(take.image_size, dtype=np.int64),
        "keys": take.keys,
        "meta": np.array(json.dumps(take.meta, sort_keys=True)),
    }
    with atomic_open(path) as handle:
        np.savez_compressed(handle, **arrays)
    return path


def _scalar(path: Path | str, data: Any, key: str, kind: str) -> Any:
    value = data[key]
    if value.shape != () or value.dtype.kind not in kind:
        raise TakeFileError(
            path, key, f"must be a scalar of kind {kind!r}, got {value.dtype} {value.shape}"
        )
    return value.item()


def read(path: Path | str) -> Take:
    """Read and check a take file; TakeFileError names what is wrong."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(6)
    except FileNotFoundError:
        raise TakeFileError(path, None, "file not found") from None
    except OSError as exc:
        raise TakeFileError(path, None, f"cannot be read ({exc.strerror})") from None
    if head.startswith(b"\x93NUMPY"):
        raise TakeFileError(path, None, "not an .npz archive (a single .npy array?)")
    if not zipfile.is_zipfile(path):
        raise TakeFileError(path, None, "not a readable .npz archive (not a ZIP file: "
                                        "another format, or cut short)")
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise TakeFileError(path, None, "file not found") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise TakeFileError(path, None, f"not a readable .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise TakeFileError(path, None, "not an .npz archive (a single .npy array?)")
    with archive as data:
        present = set(data.files)
        for key in KEYS:
            if key not in present:
                raise TakeFileError(path, key, "missing")
        arrays: dict[str, Any] = {}
        for key in KEYS:
            try:
                arrays[key] = data[key]
            except ValueError as exc:  # a damaged header, or an object array (needs pickle)
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise TakeFileError(path, key, f"not a valid .npy array ({first})") from None
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise TakeFileError(path, key, f"damaged in the archive ({exc})") from None
            except MemoryError:  # a damaged header can claim any shape
                raise TakeFileError(path, key, "its header claims an array too large to "
                                    "read") from None
            if not isinstance(arrays[key], np.ndarray):  # a member without a .npy header
                raise TakeFileError(path, key, "not a .npy array")
    fmt = _scalar(path, arrays, "format", "U")
    if fmt != FORMAT:
        raise TakeFileError(path, "format", f"expected {FORMAT!r}, got {fmt!r}")
    task = _scalar(path, arrays, "task", "iu")
    meta_text = _scalar(path, arrays, "meta", "U")
    try:
        meta = json.loads(meta_text)
    except json.JSONDecodeError as exc:
        raise TakeFileError(path, "meta", f"not valid JSON ({exc.msg} at char {exc.pos})") \
            from None
    size = arrays["image_size"]
    take = Take(
        task=int(task),
        t=arrays["t"],
        landmarks=arrays["landmarks"],
        image_size=tuple(int(v) for v in size) if size.shape == (2,) and size.dtype.kind in "iu"
        else size,
        keys=arrays["keys"],
        meta=meta,
    )
    validate(take, path)
    return take
