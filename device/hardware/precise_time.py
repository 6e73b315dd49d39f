"""Waiting until an instant with sub-millisecond accuracy from user space.

``time.sleep`` on Linux overshoots by tens to hundreds of microseconds (more under load), so a
stimulus onset asynchrony timed with it alone is late by that much. Here the coarse part of
the wait sleeps and the last ``spin_s`` is a busy-wait on ``time.perf_counter``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SPIN_S = 0.001


def wait_until(
    deadline: float, *, clock: Callable[[], float] = time.perf_counter, spin_s: float = SPIN_S
) -> float:
    """Return at ``deadline`` (on ``clock``) or just after it; the clock reading on return."""
    while True:
        remaining = deadline - clock()
        if remaining <= spin_s:
            break
        time.sleep(remaining - spin_s)
    while (now := clock()) < deadline:
        pass
    return now


def sleep_until(deadline: float, *, clock: Callable[[], float] = time.perf_counter) -> float:
    """The naive wait (``time.sleep`` only), kept as the baseline the bench compares against."""
    remaining = deadline - clock()
    if remaining > 0:
        time.sleep(remaining)
    return clock()
