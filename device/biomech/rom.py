"""Range of motion of one digit from the IMU pair's relative joint angles.

The recording's two channels are the flexion-extension and abduction-adduction angles
(radians) of the proximal phalanx relative to the hand dorsum while the person moves the
digit to its limits. The range is max - min after a 5-sample running median, so a single
spurious sample cannot widen it.
"""

from __future__ import annotations

import math

from scipy.ndimage import median_filter

from device.biomech.measure import Measure
from device.biomech.recording import ANGLE_CHANNELS, Recording


def range_of_motion(rec: Recording) -> list[Measure]:
    if rec.kind != "rom":
        raise ValueError(f"expected a rom recording, got {rec.kind}")
    out = []
    for c, channel in enumerate(ANGLE_CHANNELS):
        angle = median_filter(rec.values[:, c], size=5, mode="nearest")
        lo, hi = float(angle.min()), float(angle.max())
        out.append(Measure(
            measure=f"rom_{channel}_rad", finger=rec.finger, unit="rad", value=hi - lo,
            source=rec.digest(),
            detail={"min_rad": lo, "max_rad": hi, "range_deg": math.degrees(hi - lo)},
        ))
    return out
