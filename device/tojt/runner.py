"""One TOJT run: the staircase, a random finger order per trial, answers, and a full record.

The stimulator and the source of answers are passed in as callables, so the same runner works
with the solenoids and buttons, the web page, or a simulated observer:

- ``stimulate(first, soa_ms) -> delivered_soa_ms``: tap ``first`` (``"index"`` or
  ``"middle"``), then the other finger ``soa_ms`` later; return the SOA actually delivered
  (from the recorded edge times).
- ``respond(trial) -> "index" | "middle" | None``: the finger the person felt first, or
  ``None`` when no answer came (such a trial is recorded but does not move the staircase).

Either may raise ``RunAbortedError`` (the stimulator failed, the clinician stopped the run): the
run then ends at once and returns the trials so far, with the reason and ``completed`` false.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device import atomic
from device.tojt.zest import Zest

FINGERS = ("index", "middle")
FORMAT = "dystonia-tojt/1"


class RunAbortedError(Exception):
    """Raised by ``stimulate`` or ``respond`` to end a run early; the message says why."""


@dataclass
class Trial:
    number: int
    requested_soa_ms: float
    delivered_soa_ms: float
    first: str
    response: str | None
    correct: bool | None
    t_stimulus_s: float
    t_response_s: float
    threshold_after_ms: float


@dataclass
class TojResult:
    settings: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)
    threshold_ms: float = math.nan
    posterior_log_sd: float = math.nan
    interval95_ms: tuple[float, float] = (math.nan, math.nan)
    stop_reason: str = ""
    hand: str = "right"
    completed: bool = True  # false when the run was aborted before the staircase finished

    def answered(self) -> list[tuple[float, bool]]:
        """The (delivered SOA, correct) pairs the staircase used, in order."""
        return [(t.delivered_soa_ms, bool(t.correct)) for t in self.trials if t.correct is not None]

    def recompute(self) -> Zest:
        """The staircase rebuilt from the stored settings and answers."""
        return Zest.replay(self.settings, self.answered())

    def to_json(self) -> str:
        d = asdict(self)
        d["format"] = FORMAT
        return json.dumps(d, indent=1)

    @classmethod
    def from_json(cls, text: str) -> TojResult:
        d = json.loads(text)
        if d.pop("format", None) != FORMAT:
            raise ValueError(f"not a {FORMAT} record")
        d["trials"] = [Trial(**t) for t in d["trials"]]
        d["interval95_ms"] = tuple(d["interval95_ms"])
        return cls(**d)

    def save(self, path: Path) -> Path:
        atomic.write_bytes(Path(path), self.to_json().encode())
        return Path(path)


def run_toj(
    zest: Zest,
    stimulate: Callable[[str, float], float],
    respond: Callable[[int], str | None],
    *,
    rng: np.random.Generator,
    clock: Callable[[], float] = time.monotonic,
    max_silent_in_a_row: int = 3,
    hand: str = "right",
) -> TojResult:
    """Run trials until the staircase is finished (or the person stops answering)."""
    result = TojResult(settings=zest.settings_dict(), hand=hand)
    silent = 0
    while not zest.finished:
        number = len(result.trials) + 1
        requested = zest.next_soa_ms()
        first = FINGERS[int(rng.integers(2))]
        t_stimulus = clock()
        try:
            delivered = float(stimulate(first, requested))
            response = respond(number)
        except RunAbortedError as error:
            result.stop_reason, result.completed = str(error), False
            break
        t_response = clock()
        if response is not None and response not in FINGERS:
            raise ValueError(f"answer must be one of {FINGERS} or None, got {response!r}")
        correct = None if response is None else response == first
        if correct is not None:
            zest.update(delivered, correct)
        result.trials.append(Trial(
            number=number, requested_soa_ms=requested, delivered_soa_ms=delivered, first=first,
            response=response, correct=correct, t_stimulus_s=t_stimulus, t_response_s=t_response,
            threshold_after_ms=zest.threshold_ms,
        ))
        silent = silent + 1 if response is None else 0
        if silent >= max_silent_in_a_row:
            result.stop_reason = f"no answer to {silent} trials in a row"
            break
    result.stop_reason = result.stop_reason or (zest.stop_reason or "")
    result.threshold_ms = zest.threshold_ms
    result.posterior_log_sd = zest.posterior_log_sd
    result.interval95_ms = zest.credible_interval_ms(0.95)
    return result
