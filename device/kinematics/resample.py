"""Time normalisation: the frames brought to N equally spaced times.

``resample`` (kinematics/1 to /4) draws a cubic spline through every frame and reads it at
the N times, so each sample carries one frame's tracker jitter however many frames fall
between two samples. ``lowpass_resample`` (kinematics/5) is the anti-aliased version: each
sample is a local straight-line fit to the frames around it, weighted by a Gaussian in time
whose SD is LOWPASS_SD of the sample spacing. A 60 fps take of 8 s has about four frames per
sample; their jitter is averaged instead of aliased into the passage, while the movements
the model judges (keystrokes and involuntary curls lasting tenths of a second) are slower
than the sample rate and pass. The straight-line fit, unlike a plain weighted mean, is not
pulled inwards at the passage's two ends. Each fit reads only the frames within BAND_SD
Gaussian SDs of its sample: the weights left out are below exp(-24.5) = 2e-11 of the
largest, and the fit costs less than weighing every frame (0.78 against 1.10 ms for an 8 s
hand at 60 fps, one thread).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from device.kinematics import N_SAMPLES

# Gaussian SD in sample spacings: gain 0.29 at the 128 samples' Nyquist frequency and 0.73 at
# half of it, so what is above the sample rate is mostly removed before it can alias.
LOWPASS_SD = 0.5
BAND_SD = 7.0


def resample(t: np.ndarray, values: np.ndarray, n: int = N_SAMPLES) -> np.ndarray:
    """Resample ``values`` (T, ...) given at times ``t`` to ``n`` points from t[0] to t[-1]."""
    spline = CubicSpline(t, values, axis=0)
    return spline(np.linspace(t[0], t[-1], n))


def lowpass_resample(t: np.ndarray, values: np.ndarray, n: int = N_SAMPLES,
                     sd: float = LOWPASS_SD) -> np.ndarray:
    """``values`` (T, ...) at increasing times ``t`` to ``n`` equally spaced points from t[0]
    to t[-1], each a Gaussian-weighted local linear fit (SD ``sd`` sample spacings, but never
    less than the usual frame interval, so a slow camera's frames are joined, not smoothed
    over). The frames are first put on a regular clock at their usual interval, by straight
    lines across any stall of the camera, so every fit has frames around it."""
    t = np.asarray(t, dtype=np.float64)
    flat = np.asarray(values, dtype=np.float64).reshape(len(t), -1)
    interval = float(np.median(np.diff(t)))
    n_clock = max(round((t[-1] - t[0]) / interval) + 1, 2)
    clock = np.linspace(t[0], t[-1], n_clock)
    after = np.clip(np.searchsorted(t, clock, side="right"), 1, len(t) - 1)
    share = ((clock - t[after - 1]) / (t[after] - t[after - 1]))[:, None]
    regular = (1.0 - share) * flat[after - 1] + share * flat[after]
    samples = np.linspace(t[0], t[-1], n)
    width = max(sd * (t[-1] - t[0]) / (n - 1), interval)
    tick = (t[-1] - t[0]) / (n_clock - 1)
    reach = int(np.ceil(BAND_SD * width / tick))
    first = np.floor((samples - t[0]) / tick).astype(int) - reach
    near = first[:, None] + np.arange(2 * reach + 2)  # (n, band): clock frames near each sample
    on_clock = (near >= 0) & (near < n_clock)
    near = np.clip(near, 0, n_clock - 1)
    offset = (clock[near] - samples[:, None]) / width
    weight = np.where(on_clock, np.exp(-0.5 * offset ** 2), 0.0)
    s0, s1, s2 = (np.sum(weight * offset ** k, axis=1) for k in range(3))
    m0 = np.einsum("nk,nkc->nc", weight, regular[near])
    m1 = np.einsum("nk,nkc->nc", weight * offset, regular[near])
    fitted = (s2[:, None] * m0 - s1[:, None] * m1) / (s0 * s2 - s1 ** 2)[:, None]
    return fitted.reshape((n, *np.shape(values)[1:]))
