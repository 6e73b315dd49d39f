"""Video file to take file through the on-box landmark pipeline (``dystonia-box analyze``).

The take keeps every frame (trimming to the played notes is the scorer's job, from the key
events the take carries). Landmarks go into the take normalised as contract 1 asks: x and z
divided by the image width, y by the height. Nothing is written unless the whole video was
read and at least one hand was found; the writer is atomic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np

from device import protocol, takefile
from device.vision.midi_keys import MidiKeysError, check_task, read_keys
from device.vision.models import (
    DEFAULT_LANDMARK_PRECISION,
    DEFAULT_PALM_PRECISION,
    LandmarkModels,
    ModelError,
)
from device.vision.pipeline import HandTracker, redetect_interval
from device.vision.sources import MISSING_FRAMES_ALLOWED, FileSource, VideoError

# Where the box keeps its landmark models (made by `python -m model_export landmarks`).
INSTALLED_MODELS = Path(str(resources.files("device").joinpath("models", "landmarks")))
DEFAULT_VARIANT = "lite"
KEYS_PAST_VIDEO_S = 1.0  # no note may start later than this after the video's last frame

Progress = Callable[[int, int], None]  # frames done, frames expected (0 if unknown)


class AnalyzeError(ValueError):
    """The video, keys or task cannot make a take; the message names what was wrong."""


def analyze_video(video: Path | str, models_dir: Path | str | None, task: int,
                  keys: Path | str | None = None, progress: Progress | None = None, *,
                  participant: str | None = None, tempo_mode: str = "fixed",
                  dynamics: str = "pp", variant: str = DEFAULT_VARIANT,
                  palm_precision: str = DEFAULT_PALM_PRECISION,
                  landmark_precision: str = DEFAULT_LANDMARK_PRECISION,
                  num_threads: int = 1, key_array: np.ndarray | None = None,
                  frame_times: np.ndarray | None = None) -> takefile.Take:
    """Landmarks of both hands in every frame of ``video``, with the key events of ``keys``
    (a MIDI file whose time 0 is the video's first frame), as a checked take.

    A recording of the box gives its key events as ``key_array`` instead (the take's (N, 4)
    keys; empty when there is no key sensor) and the camera's ``frame_times`` (one per frame,
    seconds, the same clock as ``key_array``, 0 at the first frame) instead of the times the
    file gives. ``models_dir`` None means the installed models. Raises AnalyzeError naming
    what was wrong.
    """
    video = Path(video)
    try:
        spec = protocol.load().task(task)
    except protocol.ProtocolError as exc:
        raise AnalyzeError(str(exc)) from None
    if tempo_mode not in takefile.TEMPO_MODES:
        raise AnalyzeError(f"tempo mode must be one of {', '.join(takefile.TEMPO_MODES)}, "
                           f"got {tempo_mode!r}")
    if dynamics not in takefile.DYNAMICS:
        raise AnalyzeError(f"dynamics must be one of {', '.join(takefile.DYNAMICS)}, "
                           f"got {dynamics!r}")
    if keys is not None and key_array is not None:
        raise AnalyzeError("give the key events as a MIDI file or as an array, not both")
    keys_name = str(keys) if keys is not None else f"the key events of {video.name}"
    try:
        key_events = np.zeros((0, 4))
        if keys is not None:
            key_events = read_keys(keys)  # MIDI time 0 = the first frame, t = 0 for a file
            check_task(key_events, spec, keys_name)
        elif key_array is not None and len(key_array):
            key_events = np.asarray(key_array, dtype=np.float64).reshape(-1, 4)
            check_task(key_events, spec, keys_name)
        models = LandmarkModels.from_dir(models_dir or INSTALLED_MODELS, variant,
                                         palm_precision, landmark_precision, num_threads)
        source = FileSource(video)
    except (MidiKeysError, ModelError, VideoError) as exc:
        raise AnalyzeError(str(exc)) from None
    if frame_times is not None and source.frame_count > 0 \
            and abs(source.frame_count - len(frame_times)) > MISSING_FRAMES_ALLOWED:
        source.close()
        raise AnalyzeError(f"{video}: has {source.frame_count} frames but {len(frame_times)} "
                           "frame times were recorded; the recording is damaged")
    try:
        tracker = HandTracker(models, redetect_every=redetect_interval(source.fps))
        times, frames = [], []
        for t, rgb in source.frames():
            frames.append(tracker.process(rgb).landmarks)
            times.append(t)
            if progress is not None:
                progress(len(times), max(source.frame_count, 0))
    except VideoError as exc:
        raise AnalyzeError(str(exc)) from None
    finally:
        source.close()
    if frame_times is not None:
        if len(frame_times) != len(times):
            raise AnalyzeError(f"{video}: {len(times)} frames decoded but {len(frame_times)} "
                               "frame times recorded; the recording is damaged")
        times = [float(t) for t in frame_times]
    if len(times) < 2:
        raise AnalyzeError(f"{video}: has {len(times)} frame(s); a take needs at least 2")
    if key_events.shape[0] and key_events[:, 1].max() > times[-1] + KEYS_PAST_VIDEO_S:
        raise AnalyzeError(
            f"{keys_name}: notes are played until {key_events[:, 1].max():.1f} s but {video} "
            f"ends at {times[-1]:.1f} s; the key events must start with the video"
        )
    landmarks = np.stack(frames).astype(np.float32)
    found = ~np.isnan(landmarks[:, :, 0, 0])
    if not found.any():
        raise AnalyzeError(f"{video}: no hand was found in any of its {len(times)} frames "
                           "(are the hands in the picture and lit?)")
    scale = np.array([source.width, source.height, source.width], dtype=np.float32)
    meta = {
        "tempo_bpm": _tempo(spec, tempo_mode, key_events),
        "tempo_mode": tempo_mode,
        "dynamics": dynamics,
        "participant": participant or video.stem,
        "source": "file" if frame_times is None else "camera",
        "video": video.name,
        "landmarks_by": f"device.vision {variant}, palm detector {palm_precision}, landmark "
                        f"model {landmark_precision} (MediaPipe palm and hand landmark models)",
        "frames_with_hand": {"left": int(found[:, 0].sum()), "right": int(found[:, 1].sum())},
    }
    take = takefile.Take(
        task=task, t=np.asarray(times, dtype=np.float64), landmarks=landmarks / scale,
        image_size=(source.width, source.height), keys=key_events, meta=meta,
    )
    try:
        takefile.validate(take, video)
    except takefile.TakeFileError as exc:  # e.g. a tracker gone wild: say it, in one line
        raise AnalyzeError(str(exc)) from None
    return take


def _tempo(spec: protocol.Task, tempo_mode: str, keys: np.ndarray) -> float:
    """The fixed tempo, or for 'fastest' the tempo the key onsets show (median spacing)."""
    if tempo_mode == "fixed" or keys.shape[0] < 2:
        return spec.fixed_bpm
    onsets = np.unique(np.round(keys[:, 1], 2))  # a chord's notes within 10 ms are one event
    spacing = float(np.median(np.diff(onsets))) if onsets.size > 1 else math.nan
    if not spacing > 0:
        return spec.fixed_bpm
    return 60.0 * spec.beats_per_event / spacing


def analyze_to_file(video: Path | str, out: Path | str, models_dir: Path | str | None,
                    task: int, keys: Path | str | None = None,
                    progress: Progress | None = None, *, participant: str | None = None,
                    tempo_mode: str = "fixed", dynamics: str = "pp",
                    variant: str = DEFAULT_VARIANT,
                    palm_precision: str = DEFAULT_PALM_PRECISION,
                    landmark_precision: str = DEFAULT_LANDMARK_PRECISION) -> Path:
    """:func:`analyze_video`, then write the take atomically to ``out``; returns ``out``.

    On any error nothing is written and an existing ``out`` is left as it was.
    """
    take = analyze_video(video, models_dir, task, keys, progress, participant=participant,
                         tempo_mode=tempo_mode, dynamics=dynamics, variant=variant,
                         palm_precision=palm_precision, landmark_precision=landmark_precision)
    return takefile.write(out, take)
