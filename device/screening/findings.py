"""What scoring found that bears on how far a hand's verdict can be trusted, in plain words:
the same sentences in the text output, on the results page, in the PDF and among the
take's checks on the session page."""

from __future__ import annotations

from device.kinematics.trim import TRIMMED_BY_KEYS, TRIMMED_BY_MOTION
from device.screening.passage import PassageCheck
from device.screening.tracking_norm import TrackingCheck

MOTION_TRIM_CAVEAT = ("Judged this way the models find fewer dystonic takes (68 % of synthetic "
                      "ones, against 73 % with key data), so a normal verdict is less certain. "
                      "A key sensor makes it more reliable.")


def motion_trim_sentence(hand: str) -> str:
    """Without key data the playing is found from the hands' movement, and each hand is judged
    at its best window around it (device/screening/trim_search.py) against a threshold set on
    healthy hands judged the same way (the card's ``without_keys``). Judged so, the shipped
    models found 68 % of the fresh synthetic cohort's dystonic takes over the eleven tasks,
    against 73 % with keys, at the same specificity (92 %; task 7: 64 % against 81 %;
    docs/evaluation-default-models.md, *Without key data*)."""
    return (f"The {hand} hand's playing was found from the hands' movement alone: the take has "
            f"no key data. {MOTION_TRIM_CAVEAT}")


def motion_trim_note(hand: str) -> str:
    """The same, short, where the report's summary has said it for the whole session."""
    return f"The {hand} hand's playing was found from its movement alone (see the summary)."


def hand_findings(hand: str, tracking: TrackingCheck | None,
                  passage: PassageCheck | None, trimmed_by: str = TRIMMED_BY_KEYS
                  ) -> list[str]:
    found = []
    if trimmed_by == TRIMMED_BY_MOTION:
        found.append(motion_trim_sentence(hand))
    if passage is not None and not passage.as_the_task:
        found.append(passage.sentence(hand))
    if tracking is not None and tracking.above_limit:
        found.append(tracking.sentence(hand))
    return found
