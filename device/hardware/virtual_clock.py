"""Simulated time for emulators and simulated twins: sleeping advances it, nothing waits."""

from __future__ import annotations


class VirtualClock:
    def __init__(self, start_s: float = 1000.0) -> None:
        self.t = start_s

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
