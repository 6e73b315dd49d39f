"""Kinematics preprocessing shared by training and the box: take in, (128, 21, 3) per hand out.

The steps, in order: trim (keys, or hand motion without them), split the hands, fill short
detection gaps, mirror the left hand into the right hand's frame, normalise, resample to
128 frames with a cubic spline. See docs/preprocessing.md for the reasons behind each.
"""

PREPROCESSING_VERSION = "kinematics/1"
N_SAMPLES = 128
