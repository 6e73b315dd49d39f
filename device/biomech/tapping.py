"""Agility: tapping rate and regularity from the designated finger's force curve.

A tap starts when the force rises through the upper threshold after having fallen below the
lower one (hysteresis, so noise on a slope cannot count twice). Thresholds are fractions of
the recording's peak force, with a floor in newtons so a resting finger's noise never
counts. The onset time is interpolated between the two samples around the crossing.
"""

from __future__ import annotations

import numpy as np

from device.biomech.force import smoothed
from device.biomech.measure import Measure
from device.biomech.recording import Recording
from device.protocol import FINGER_NAMES


def tap_onsets(t: np.ndarray, force: np.ndarray, on_n: float, off_n: float) -> np.ndarray:
    """Times (s) at which ``force`` rises through ``on_n``, re-armed below ``off_n``."""
    onsets = []
    armed = force[0] < on_n  # a finger already pressing at the start is not a tap
    for k in range(1, force.size):
        if armed and force[k] >= on_n:
            f0, f1 = force[k - 1], force[k]
            frac = (on_n - f0) / (f1 - f0) if f1 > f0 else 1.0
            onsets.append(t[k - 1] + frac * (t[k] - t[k - 1]))
            armed = False
        elif not armed and force[k] <= off_n:
            armed = True
    return np.asarray(onsets)


def tapping(
    rec: Recording, *, on_fraction: float = 0.5, off_fraction: float = 0.25,
    floor_n: float = 1.0, long_factor: float = 1.8,
) -> tuple[Measure, Measure]:
    """Tapping rate (taps per second, 1 / mean inter-tap interval) and the coefficient of
    variation of the inter-tap intervals.

    An interval longer than ``long_factor`` times the median is flagged ``long_interval``:
    a tap too light to cross the threshold, or a pause. The values still include it, so the
    irregularity shows in the CV; the flag says where it comes from.
    """
    if rec.kind != "tapping":
        raise ValueError(f"expected a tapping recording, got {rec.kind}")
    i = FINGER_NAMES.index(rec.finger)
    force = smoothed(rec.values[:, i])
    peak = float(force.max())
    on_n = max(on_fraction * peak, floor_n)
    off_n = max(off_fraction * peak, 0.5 * floor_n)
    onsets = tap_onsets(rec.t, force, on_n, off_n)
    params = {"on_fraction": on_fraction, "off_fraction": off_fraction, "floor_n": floor_n,
              "long_factor": long_factor}
    detail = {"on_n": on_n, "off_n": off_n, "onsets_s": [float(x) for x in onsets],
              "n_taps": int(onsets.size)}
    flags: list[str] = []
    notes: list[str] = []
    if rec.clipped()[:, i].any():
        flags.append("clipped")
        notes.append("sensor saturated (tap times are unaffected)")
    common = {"finger": rec.finger, "source": rec.digest(), "params": params, "detail": detail}
    if onsets.size < 3:
        why = f"only {onsets.size} taps detected (peak force {peak:.1f} N); at least 3 needed"
        return (Measure("tapping_rate_hz", unit="Hz", value=None, flags=(*flags, "too_few_taps"),
                        note=why, **common),
                Measure("tapping_cv", unit="1", value=None, flags=(*flags, "too_few_taps"),
                        note=why, **common))
    intervals = np.diff(onsets)
    long = np.flatnonzero(intervals > long_factor * np.median(intervals))
    if long.size:
        flags.append("long_interval")
        notes.append(f"{long.size} interval(s) over {long_factor:g}x the median: a missed tap "
                     "or a pause")
        detail["long_intervals"] = [int(j) for j in long]
    mean = float(intervals.mean())
    return (
        Measure("tapping_rate_hz", unit="Hz", value=1.0 / mean, flags=tuple(flags),
                note="; ".join(notes), **common),
        Measure("tapping_cv", unit="1", value=float(intervals.std(ddof=1) / mean),
                flags=tuple(flags), note="; ".join(notes), **common),
    )
