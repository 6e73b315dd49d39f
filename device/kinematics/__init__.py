"""Kinematics preprocessing shared by training and the box: take in, (128, 21, 3) per hand out.

The steps, in order: trim (keys, or hand motion without them), split the hands, fill short
detection gaps, mirror the left hand into the right hand's frame, normalise, resample to
128 frames with a cubic spline. See docs/preprocessing.md for the reasons behind each.
"""

PREPROCESSING_VERSION = "kinematics/1"
# The source study's representation, kept as the baseline to compare against: MediaPipe's
# image coordinates as they come (left hand mirrored as x -> 1 - x), trimmed and resampled
# the same way, with no normalisation.
PAPER_PREPROCESSING = "image/1"
REPRESENTATIONS = (PREPROCESSING_VERSION, PAPER_PREPROCESSING)
N_SAMPLES = 128
