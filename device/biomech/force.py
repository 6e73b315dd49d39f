"""Force measures as the paper defines them: maximum force, reduction rate during
simultaneous exertion, and independence. docs/biomechanics.md gives the reasons.

Forces are taken as tared (zero with the fingers resting on their cells). Every peak is read
from a 3-sample running median, so one spurious sample cannot make a maximum.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from device.biomech.measure import Measure
from device.biomech.recording import Recording
from device.protocol import FINGER_NAMES


def smoothed(values: np.ndarray) -> np.ndarray:
    """3-sample running median along time (each channel separately)."""
    size = (3, 1) if values.ndim == 2 else 3
    return median_filter(values, size=size, mode="nearest")


def _require(rec: Recording, kind: str) -> None:
    if rec.kind != kind:
        raise ValueError(f"expected a {kind} recording, got {rec.kind}")


def max_force(rec: Recording) -> Measure:
    """The designated finger's highest force in a maximum-strength recording (N).

    A saturated sensor gives its limit as a lower bound, flagged ``clipped``.
    """
    _require(rec, "max")
    i = FINGER_NAMES.index(rec.finger)
    force = smoothed(rec.values[:, i])
    k = int(np.argmax(force))
    base = {"measure": "max_force_n", "finger": rec.finger, "unit": "N", "source": rec.digest(),
            "detail": {"t_peak_s": float(rec.t[k])}}
    if np.any(rec.clipped()[:, i]):
        limit = float(rec.limit[i])
        return Measure(**base, value=limit, flags=("clipped",),
                       note=f"sensor saturated at {limit:g} N: the true maximum is higher")
    return Measure(**base, value=float(force[k]))


def reduction_rates(rec: Recording, maxima: dict[str, Measure]) -> list[Measure]:
    """Per finger: force at the moment of peak total force while all five press together,
    divided by that finger's own maximum (the force deficit ratio, 1 = no deficit).
    """
    _require(rec, "simultaneous")
    forces = smoothed(rec.values)
    k = int(np.argmax(forces.sum(axis=1)))
    clipped_at_peak = rec.clipped()[max(k - 1, 0):k + 2].any(axis=0)
    out = []
    for i, finger in enumerate(FINGER_NAMES):
        base = {"measure": "reduction_rate", "finger": finger, "unit": "1",
                "source": rec.digest(), "params": {},
                "detail": {"t_peak_s": float(rec.t[k]), "force_n": float(forces[k, i])}}
        ref = maxima.get(finger)
        if ref is None or not ref.ok or ref.value <= 0:
            out.append(Measure(**base, value=None, flags=("no_maximum",),
                               note=f"no usable maximum force for the {finger}"))
            continue
        base["detail"]["max_force_n"] = ref.value
        base["detail"]["max_source"] = ref.source
        flags, notes = [], []
        if clipped_at_peak[i]:
            flags.append("clipped")
            notes.append("sensor saturated during simultaneous pressing: ratio is a lower bound")
        if "clipped" in ref.flags:
            flags.append("max_clipped")
            notes.append("maximum was clipped: ratio is an upper bound")
        out.append(Measure(**base, value=float(forces[k, i] / ref.value), flags=tuple(flags),
                           note="; ".join(notes)))
    return out


def independence(
    rec: Recording, *, reach_fraction: float = 0.8, settle_s: float = 0.5, hold_s: float = 5.0,
    min_window_s: float = 1.0,
) -> Measure:
    """1 - (sum of the other fingers' force) / (designated finger's force), mean forces over
    the hold: from ``settle_s`` after the designated finger first reaches ``reach_fraction``
    of the target until ``hold_s`` after that moment (or the end of the recording).

    1 is a perfectly independent finger; 0 means the others together pressed as hard as it
    did. Another finger's mean below zero (lifted off a tared cell) counts as zero.
    """
    _require(rec, "independence")
    i = FINGER_NAMES.index(rec.finger)
    params = {"reach_fraction": reach_fraction, "settle_s": settle_s, "hold_s": hold_s,
              "min_window_s": min_window_s}
    base = {"measure": "independence", "finger": rec.finger, "unit": "1",
            "source": rec.digest(), "params": params}
    forces = smoothed(rec.values)
    target = float(rec.target)
    reached = np.flatnonzero(forces[:, i] >= reach_fraction * target)
    if reached.size == 0:
        peak = float(forces[:, i].max())
        return Measure(**base, value=None, flags=("target_not_reached",),
                       note=f"the {rec.finger} never reached the target: peak {peak:.1f} N, "
                            f"target {target:.1f} N",
                       detail={"peak_n": peak, "target_n": target})
    t_reach = float(rec.t[reached[0]])
    start, end = t_reach + settle_s, min(t_reach + hold_s, float(rec.t[-1]))
    window = (rec.t >= start) & (rec.t <= end)
    detail = {"t_reach_s": t_reach, "window_s": [start, end], "target_n": target}
    if end - start < min_window_s or window.sum() < 2:
        return Measure(**base, value=None, flags=("hold_too_short",),
                       note=f"only {max(end - start, 0):.2f} s of hold after the target was "
                            f"reached; at least {min_window_s:g} s is needed", detail=detail)
    means = forces[window].mean(axis=0)
    designated = float(means[i])
    others = float(np.clip(np.delete(means, i), 0.0, None).sum())
    detail.update(designated_mean_n=designated, others_sum_n=others,
                  means_n=[float(m) for m in means])
    flags, notes = [], []
    if rec.clipped()[window].any():
        flags.append("clipped")
        notes.append("a sensor saturated during the hold")
    if designated <= 0:
        return Measure(**base, value=None, flags=(*flags, "no_force"),
                       note="the designated finger's mean force over the hold was not positive",
                       detail=detail)
    return Measure(**base, value=1.0 - others / designated, flags=tuple(flags),
                   note="; ".join(notes), detail=detail)
