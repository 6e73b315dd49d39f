"""The psychometric function of the two-finger temporal order judgement.

Probability of naming the right finger first at a stimulus onset asynchrony (SOA): a logistic
function of ln(SOA) between the guess rate (0.5, two alternatives) and 1 - lapse rate. It is
parametrised by its threshold, the SOA at which the probability is exactly 75 % (the paper's
definition of the TOJT), so the staircase estimates that number directly.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

TARGET_P = 0.75


def _target_logit(guess: float, lapse: float) -> float:
    """logit of the underlying logistic's value where the full function reaches 75 %."""
    span = 1.0 - guess - lapse
    f = (TARGET_P - guess) / span
    if not 0.0 < f < 1.0:
        raise ValueError(
            f"75 % correct is out of reach with guess rate {guess} and lapse rate {lapse}"
        )
    return math.log(f / (1.0 - f))


def p_correct(
    soa_ms: ArrayLike,
    threshold_ms: ArrayLike,
    *,
    slope: float,
    guess: float = 0.5,
    lapse: float = 0.02,
) -> np.ndarray:
    """P(correct) at ``soa_ms`` for an observer whose 75 % point is ``threshold_ms``.

    ``slope`` is the logistic's slope per unit of natural-log SOA; the arrays broadcast.
    """
    x = np.log(np.asarray(soa_ms, dtype=float))
    log_threshold = np.log(np.asarray(threshold_ms, dtype=float))
    z = slope * (x - log_threshold) + _target_logit(guess, lapse)
    return guess + (1.0 - guess - lapse) / (1.0 + np.exp(-z))


def log_offset_of(p: float, *, slope: float, guess: float = 0.5, lapse: float = 0.02) -> float:
    """ln(SOA at which P(correct) = ``p``) - ln(threshold); 0 for p = 75 %."""
    span = 1.0 - guess - lapse
    f = (p - guess) / span
    if not 0.0 < f < 1.0:
        raise ValueError(f"P(correct) {p} is not between guess {guess} and 1 - lapse {1 - lapse}")
    return (math.log(f / (1.0 - f)) - _target_logit(guess, lapse)) / slope


def most_informative_p(*, slope: float, guess: float = 0.5, lapse: float = 0.02) -> float:
    """P(correct) at which one trial carries the most Fisher information about the threshold."""
    x = np.linspace(-4.0, 4.0, 8001) / slope
    p = p_correct(np.exp(x), 1.0, slope=slope, guess=guess, lapse=lapse)
    information = np.gradient(p, x) ** 2 / (p * (1.0 - p))
    return float(p[int(np.argmax(information))])
