"""Waiting until an instant with sub-millisecond accuracy from user space.

``time.sleep`` on Linux overshoots by tens to hundreds of microseconds (more under load), so a
stimulus onset asynchrony timed with it alone is late by that much. Here the coarse part of
the wait sleeps and the last ``spin_s`` is a busy-wait on ``time.perf_counter``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def realtime_priority(priority: int = 50) -> Iterator[bool]:
    """Run the block with the calling thread under SCHED_FIFO, if the process may.

    Under load, an ordinary thread that busy-waits uses up its time slice and is preempted,
    which delays an edge by milliseconds. Raising the priority needs root, CAP_SYS_NICE or
    an RLIMIT_RTPRIO (``LimitRTPRIO=`` in a systemd unit). Yields whether it was raised.
    """
    try:
        policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError):  # not permitted, or not Linux
        raised = False
    else:
        raised = True
    try:
        yield raised
    finally:
        if raised:
            os.sched_setscheduler(0, policy, param)
