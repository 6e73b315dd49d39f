"""What the page says when a step ends without a result; the same words for every test."""

from __future__ import annotations

CANCELLED = ("Stopped by the clinician; what was recorded is kept. Repeat this test to "
             "finish it.")


def dropped_out(sensors: str, elapsed_s: float, error: BaseException, check: str) -> str:
    return (f"The {sensors} stopped answering {elapsed_s:.1f} s into this test ({error}). "
            f"What was recorded is kept. {check}, then repeat this test.")


def no_samples(kind: str) -> str:
    return f"No {kind} samples arrived; repeat this test."


def gap(kind: str, at_s: float, missing_s: float) -> str:
    return (f"{missing_s:.1f} s of {kind} samples are missing {at_s:.1f} s into this test (the "
            "box fell behind). What was recorded is kept; repeat this test.")
