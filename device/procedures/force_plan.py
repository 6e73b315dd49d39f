"""The force tests of one hand, in the paper's order, with what the patient is told.

Maximum strength of each finger first, because the independence target (20 % of the
finger's own maximum) and the reduction rate of simultaneous exertion are relative to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from device.protocol import FINGER_NAMES

MAX_S = 3.0
SIMULTANEOUS_S = 3.0
INDEPENDENCE_S = 5.0
INDEPENDENCE_FRACTION = 0.20
TAPPING_S = 5.0
#: Kept before the designated action starts, so a recording shows the resting baseline.
LEAD_IN_S = 1.0

FINGER_WORDS = {"thumb": "thumb", "index": "index finger", "middle": "middle finger",
                "ring": "ring finger", "little": "little finger"}


@dataclass(frozen=True)
class ForceStep:
    kind: str  # max, simultaneous, independence, tapping (device.biomech.recording)
    hand: str  # left or right
    finger: str | None  # None for simultaneous exertion
    duration_s: float
    instruction: str
    target_n: float | None = None  # independence: the force to hold

    @property
    def key(self) -> str:
        """A name for the step that is unique within one hand's tests."""
        return f"{self.kind}:{self.hand}:{self.finger or 'all'}"


def _rest(hand: str) -> str:
    return f"Rest the five fingertips of your {hand} hand on their pads."


def max_steps(hand: str) -> list[ForceStep]:
    return [ForceStep("max", hand, f, LEAD_IN_S + MAX_S,
                      f"{_rest(hand)} When the bar turns green, press down with your "
                      f"{FINGER_WORDS[f]} as hard as you can until it stops (3 seconds). "
                      "Keep the other fingers relaxed on their pads.")
            for f in FINGER_NAMES]


def simultaneous_step(hand: str) -> ForceStep:
    return ForceStep("simultaneous", hand, None, LEAD_IN_S + SIMULTANEOUS_S,
                     f"{_rest(hand)} When the bar turns green, press down with all five "
                     "fingers together as hard as you can until it stops (3 seconds).")


def independence_steps(hand: str, maxima_n: dict[str, float]) -> list[ForceStep]:
    """One step per finger whose maximum is known, target 20 % of it."""
    return [ForceStep("independence", hand, f, LEAD_IN_S + INDEPENDENCE_S,
                      f"{_rest(hand)} When the bar turns green, press with your "
                      f"{FINGER_WORDS[f]} until its line is inside the target band, and hold it "
                      "there steadily for 5 seconds. Keep the other fingers resting on their "
                      "pads without pressing.",
                      target_n=INDEPENDENCE_FRACTION * maxima_n[f])
            for f in FINGER_NAMES if maxima_n.get(f, 0.0) > 0.0]


def tapping_steps(hand: str) -> list[ForceStep]:
    return [ForceStep("tapping", hand, f, LEAD_IN_S + TAPPING_S,
                      f"{_rest(hand)} When the bar turns green, tap on the pad with your "
                      f"{FINGER_WORDS[f]} as fast as you can until it stops (5 seconds), "
                      "lifting it off between taps. Keep the other fingers resting.")
            for f in FINGER_NAMES]


def force_plan(hand: str, maxima_n: dict[str, float]) -> list[ForceStep]:
    """Every force step of one hand; independence needs the maxima measured first."""
    if hand not in ("left", "right"):
        raise ValueError(f"hand must be left or right, got {hand!r}")
    return [*max_steps(hand), simultaneous_step(hand), *independence_steps(hand, maxima_n),
            *tapping_steps(hand)]
