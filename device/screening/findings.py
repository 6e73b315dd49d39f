"""What scoring found that bears on how far a hand's verdict can be trusted, in plain words:
the same sentences in the text output, on the results page, in the PDF and among the
take's checks on the session page."""

from __future__ import annotations

from device.screening.passage import PassageCheck
from device.screening.tracking_norm import TrackingCheck


def hand_findings(hand: str, tracking: TrackingCheck | None,
                  passage: PassageCheck | None) -> list[str]:
    found = []
    if passage is not None and not passage.as_the_task:
        found.append(passage.sentence(hand))
    if tracking is not None and tracking.above_limit:
        found.append(tracking.sentence(hand))
    return found
