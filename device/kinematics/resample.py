"""Time normalisation: a cubic spline through the frames, sampled at N equally spaced times."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from device.kinematics import N_SAMPLES


def resample(t: np.ndarray, values: np.ndarray, n: int = N_SAMPLES) -> np.ndarray:
    """Resample ``values`` (T, ...) given at times ``t`` to ``n`` points from t[0] to t[-1]."""
    spline = CubicSpline(t, values, axis=0)
    return spline(np.linspace(t[0], t[-1], n))
