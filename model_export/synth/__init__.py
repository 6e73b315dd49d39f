"""Synthetic cohort: a kinematic hand model that plays the protocol, healthy and dystonic.

Modules, each with one job: ``keyboard`` (key geometry), ``skeleton`` (segment lengths and
forward kinematics), ``reach`` (inverse kinematics of one finger), ``person`` (who plays:
anthropometry, habits, camera mounting, dystonia), ``performance`` (key events and
fingertip targets for one take), ``dystonia`` (involuntary flexion, Table 1 of the paper),
``camera`` (projection to MediaPipe coordinates, tracker noise and missed frames) and
``cohort`` (participants.tsv and the take files).
"""

GENERATOR_VERSION = "synth/1"
