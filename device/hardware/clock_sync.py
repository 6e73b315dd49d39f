"""Mapping a microcontroller's free-running 32-bit microsecond counter onto `time.monotonic`.

The Pi reads the counter again and again; each value is paired with the midpoint of its
transaction on the Pi's clock (the counter was latched somewhere inside it). A straight
line through those pairs gives offset and drift. Slow transactions (the process was
preempted, the bus was busy) say little about where the latch happened, so only the
fastest share of the reads enters the fit, and points far off the first line are dropped
before the second. Until the reads span a second the drift is not fitted (a
slope from a few milliseconds of data is mostly noise) but kept from the last fit, or 0.

The counter wraps every 2^32 us (about 71.6 min); each new read is unwrapped to the
continuation nearest what the Pi's clock predicts, and event times to the continuation
nearest the latest read.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

WRAP_US = 1 << 32


@dataclass(frozen=True)
class ClockFit:
    """monotonic = ref_monotonic_s + (device_us - ref_us) * 1e-6 * rate"""

    ref_us: int  # unwrapped device time of the reference point
    ref_monotonic_s: float
    rate: float  # Pi seconds per device second
    samples_used: int
    residual_s: float  # RMS distance of the used reads from the line
    drift_fitted: bool

    @property
    def drift_ppm(self) -> float:
        """How much faster the device's clock runs than the Pi's, parts per million."""
        return (1.0 / self.rate - 1.0) * 1e6

    def monotonic(self, device_us: int) -> float:
        return self.ref_monotonic_s + (device_us - self.ref_us) * 1e-6 * self.rate


class ClockSyncError(RuntimeError):
    """No clock reads yet, so device times cannot be placed on the Pi's clock."""


class ClockSync:
    def __init__(
        self,
        *,
        window: int = 512,
        keep_fraction: float = 0.5,
        min_drift_span_s: float = 1.0,
        jump_tolerance_s: float = 0.005,
    ) -> None:
        self.keep_fraction = keep_fraction
        self.min_drift_span_s = min_drift_span_s
        self.jump_tolerance_s = jump_tolerance_s
        # (unwrapped device us, transaction midpoint s, transaction duration s)
        self._samples: deque[tuple[int, float, float]] = deque(maxlen=window)
        self._fit: ClockFit | None = None
        self._dirty = False
        self._lock = threading.RLock()  # reads are added by the poll thread, used by drain()
        self.jumps = 0  # times the counter was not where the fit expected it (device reset)

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, raw_us: int, t_before: float, t_after: float) -> None:
        """One read of the counter, `raw_us`, taken between `t_before` and `t_after`."""
        if not 0 <= raw_us < WRAP_US:
            raise ValueError(f"counter value {raw_us} is not a 32-bit unsigned number")
        if t_after < t_before:
            raise ValueError("transaction ends before it begins")
        with self._lock:
            self._add(raw_us, (t_before + t_after) / 2.0, t_after - t_before)

    def _add(self, raw_us: int, mid: float, duration: float) -> None:
        unwrapped = raw_us
        if self._samples:
            fit = self.fit()
            last_us, last_mid, _ = self._samples[-1]
            expected = last_us + (mid - last_mid) * 1e6 / fit.rate
            unwrapped = _nearest(raw_us, expected)
            gap = abs(mid - last_mid)
            if abs(fit.monotonic(unwrapped) - mid) > self.jump_tolerance_s + 5e-4 * gap:
                self.jumps += 1
                self._samples.clear()
                self._fit = None
                unwrapped = raw_us
        self._samples.append((unwrapped, mid, duration))
        self._dirty = True

    def unwrap(self, raw_us: int) -> int:
        """The continuation of a 32-bit device time nearest the latest read (within ±35 min)."""
        with self._lock:
            if not self._samples:
                raise ClockSyncError("the device clock has not been read yet")
            return _nearest(raw_us, self._samples[-1][0])

    def to_monotonic(self, raw_us: int) -> float:
        """A 32-bit device time on the Pi's monotonic clock."""
        with self._lock:
            return self.fit().monotonic(self.unwrap(raw_us))

    def fit(self) -> ClockFit:
        with self._lock:
            if not self._samples:
                raise ClockSyncError("the device clock has not been read yet")
            if self._fit is None or self._dirty:
                self._fit = self._compute(self._fit)
                self._dirty = False
            return self._fit

    def _compute(self, previous: ClockFit | None) -> ClockFit:
        us = np.array([s[0] for s in self._samples], dtype=np.int64)
        mid = np.array([s[1] for s in self._samples])
        duration = np.array([s[2] for s in self._samples])
        if len(us) > 2:
            keep = duration <= np.quantile(duration, self.keep_fraction)
            us, mid = us[keep], mid[keep]
        ref_us, ref_mid = int(us[-1]), float(mid[-1])
        x = (us - ref_us) * 1e-6
        y = mid - ref_mid
        fitted = x.max() - x.min() >= self.min_drift_span_s and len(x) >= 3
        rate = previous.rate if previous is not None else 1.0
        intercept, rate = _line(x, y, rate, fitted)
        residual = y - (intercept + rate * x)
        sigma = 1.4826 * np.median(np.abs(residual - np.median(residual)))
        inside = np.abs(residual) <= max(3.0 * sigma, 1e-6)
        if 3 <= inside.sum() < len(x):
            x, y = x[inside], y[inside]
            fitted = fitted and x.max() - x.min() >= self.min_drift_span_s
            intercept, rate = _line(x, y, rate, fitted)
            residual = y - (intercept + rate * x)
        return ClockFit(
            ref_us=ref_us, ref_monotonic_s=ref_mid + intercept, rate=rate,
            samples_used=len(x), residual_s=float(np.sqrt(np.mean(residual**2))),
            drift_fitted=bool(fitted),
        )


def _line(x: np.ndarray, y: np.ndarray, rate: float, fit_slope: bool) -> tuple[float, float]:
    """Least-squares intercept (and slope when `fit_slope`, else `rate` is kept)."""
    if fit_slope:
        xm, ym = x.mean(), y.mean()
        slope = float(np.sum((x - xm) * (y - ym)) / np.sum((x - xm) ** 2))
        return float(ym - slope * xm), slope
    return float(np.mean(y - rate * x)), rate


def _nearest(raw_us: int, near: float) -> int:
    """raw_us + k * 2^32 closest to `near`."""
    k = round((near - raw_us) / WRAP_US)
    return raw_us + k * WRAP_US
