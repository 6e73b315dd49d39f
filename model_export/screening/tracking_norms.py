"""The card entry's tracking noise norm (device/screening/tracking_norm.py): the 99th
percentile of the tracking noise of the healthy hands a task's model learnt from (its
training and validation people)."""

from __future__ import annotations

import logging
from typing import Any

from device.screening.tracking_norm import TrackingNoiseNorm
from model_export.screening.cohort import Cohort

log = logging.getLogger(__name__)
MIN_HANDS = 20  # hands measured; from fewer a 99th percentile says little


def tracking_noise_entry(cohort: Cohort, task: int, people: list[str]) -> dict[str, Any]:
    """``{"tracking_noise": {...}}`` for the card entry, or ``{}`` with too few hands (the box
    then does not judge the tracking)."""
    chosen = set(people)
    values = [s.tracking_noise for s in cohort.samples.get(task, [])
              if s.participant in chosen and s.tracking_noise is not None]
    if len(values) < MIN_HANDS:
        log.warning("task %d: no tracking noise norm (%d hands measured, %d needed)",
                    task, len(values), MIN_HANDS)
        return {}
    return {"tracking_noise": TrackingNoiseNorm.from_healthy(values).as_card()}
