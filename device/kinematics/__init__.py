"""Kinematics preprocessing shared by training and the box: take in, (128, 21, 3) per hand out.

The steps, in order: split the hands, trim each to its own playing (its keys, or its
motion without them), fill short detection gaps, resample to 128 frames with a low-pass
(anti-aliasing) fit, bring the depth to one scale, mirror the left hand into the right
hand's frame, normalise. See docs/preprocessing.md for the reasons behind each.
"""

PREPROCESSING_VERSION = "kinematics/5"
# kinematics/5 with the frames resampled by a cubic spline through every frame after the
# other steps, not low-passed first (device/kinematics/resample.py): a noisier tracker's
# jitter came through whole; kept so that models trained with it are still scored as they
# were trained.
UNFILTERED_RESAMPLE = "kinematics/4"
# kinematics/4 without the depth rescaling (device/kinematics/depth.py): z as the tracker
# gives it, so a tracker with another depth scale moved healthy hands' errors far over the
# threshold; kept so that models trained with it are still scored as they were trained.
MOVEMENT_ONLY = "kinematics/3"
# kinematics/3 with each landmark's mean position over the take kept (the hand's build and
# posture, not only its movement) and the wrist's median position taken along the image axes
# (which left a trace of the camera's rotation in the wrist's track); kept so that models
# trained with it are still scored as they were trained.
POSTURE_KEPT = "kinematics/2"
# kinematics/2 with both hands trimmed to the window of both hands' keys,
# as the source study does: the box's representation before kinematics/2, kept so that
# models trained with it are still scored as they were trained.
BOTH_HANDS_TRIM = "kinematics/1"
# The source study's representation, kept as the baseline to compare against: MediaPipe's
# image coordinates as they come (left hand mirrored as x -> 1 - x), trimmed and resampled
# the same way, with no normalisation.
PAPER_PREPROCESSING = "image/1"
REPRESENTATIONS = (PREPROCESSING_VERSION, UNFILTERED_RESAMPLE, MOVEMENT_ONLY, POSTURE_KEPT,
                   BOTH_HANDS_TRIM, PAPER_PREPROCESSING)
N_SAMPLES = 128
