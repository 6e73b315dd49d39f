"""What scoring found that bears on how far a hand's verdict can be trusted, in plain words:
the same sentences in the text output, on the results page, in the PDF and among the
take's checks on the session page."""

from __future__ import annotations

from device.kinematics.trim import TRIMMED_BY_KEYS, TRIMMED_BY_MOTION
from device.screening.passage import PassageCheck
from device.screening.tracking_norm import TrackingCheck


def motion_trim_caveat(threshold_from: str) -> str:
    """What judging a hand without key data means, by the hands its threshold was set on.
    Against a threshold set on healthy hands judged the same way (the card's ``without_keys``)
    the shipped models found 68 % of the fresh synthetic cohort's dystonic takes over the
    eleven tasks, against 73 % with keys, at the same specificity (92 %; task 7: 64 % against
    81 %); against the threshold set on hands with keys (cards without ``without_keys``), 81 %
    of the healthy takes came out normal against 92 % (docs/evaluation-default-models.md,
    *Without key data*)."""
    if threshold_from == TRIMMED_BY_MOTION:
        return ("Judged this way the models find fewer dystonic takes (the shipped ones: 68 % of "
                "synthetic ones, against 73 % with key data), so a normal verdict is less "
                "certain. A key sensor makes it more reliable.")
    return ("The model's threshold was set on hands with key data, so judged this way a healthy "
            "hand is more often called abnormal, and an abnormal verdict is less certain. A key "
            "sensor, or models with a threshold for takes without key data, make it more "
            "reliable.")


def motion_trim_sentence(hand: str, threshold_from: str) -> str:
    return (f"The {hand} hand's playing was found from the hands' movement alone: the take has "
            f"no key data. {motion_trim_caveat(threshold_from)}")


def motion_trim_note(hand: str) -> str:
    """The same, short, where the report's summary has said it for the whole session."""
    return f"The {hand} hand's playing was found from its movement alone (see the summary)."


def hand_findings(hand: str, tracking: TrackingCheck | None, passage: PassageCheck | None,
                  trimmed_by: str = TRIMMED_BY_KEYS, threshold_from: str = TRIMMED_BY_KEYS,
                  motion_note_only: bool = False) -> list[str]:
    """``threshold_from``: the hands the threshold was set on (keys or motion);
    ``motion_note_only``: the short mention of no key data, where a summary says the rest."""
    found = []
    if trimmed_by == TRIMMED_BY_MOTION:
        found.append(motion_trim_note(hand) if motion_note_only
                     else motion_trim_sentence(hand, threshold_from))
    if passage is not None and not passage.as_the_task:
        found.append(passage.sentence(hand))
    if tracking is not None and tracking.above_limit:
        found.append(tracking.sentence(hand))
    return found
