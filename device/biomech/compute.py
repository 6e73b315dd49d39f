"""All measures of a recording, and the check that a stored measure still follows from it."""

from __future__ import annotations

import math
from typing import Any

from device.biomech.force import independence, max_force, reduction_rates
from device.biomech.measure import Measure
from device.biomech.recording import Recording
from device.biomech.rom import range_of_motion
from device.biomech.tapping import tapping


def measures_from(rec: Recording, maxima: dict[str, Measure] | None = None,
                  **params: Any) -> list[Measure]:
    """Every measure of ``rec``; ``maxima`` (finger -> max_force_n) for simultaneous exertion."""
    if rec.kind == "max":
        return [max_force(rec)]
    if rec.kind == "simultaneous":
        return reduction_rates(rec, maxima or {})
    if rec.kind == "independence":
        return [independence(rec, **params)]
    if rec.kind == "tapping":
        return list(tapping(rec, **params))
    return range_of_motion(rec)


def recompute(stored: Measure, rec: Recording,
              maxima: dict[str, Measure] | None = None) -> Measure:
    """Recompute ``stored`` from its recording; raises ValueError if it no longer matches."""
    if rec.digest() != stored.source:
        raise ValueError(f"{stored.measure} of the {stored.finger}: the recording's digest "
                         "differs from the one the measure was computed from")
    for fresh in measures_from(rec, maxima, **stored.params):
        if (fresh.measure, fresh.finger) != (stored.measure, stored.finger):
            continue
        same = (fresh.value is None and stored.value is None) or (
            fresh.value is not None and stored.value is not None
            and math.isclose(fresh.value, stored.value, rel_tol=1e-9, abs_tol=1e-12))
        if not same:
            raise ValueError(f"{stored.measure} of the {stored.finger}: stored {stored.value}, "
                             f"recomputed {fresh.value}")
        return fresh
    raise ValueError(f"{stored.measure} of the {stored.finger} is not computed from a "
                     f"{rec.kind} recording")
