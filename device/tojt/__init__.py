"""Tactile temporal order judgement: the ZEST staircase and the trial runner."""

from device.tojt.psychometric import log_offset_of, most_informative_p, p_correct
from device.tojt.runner import TojResult, Trial, run_toj
from device.tojt.zest import Zest, ZestSettings

__all__ = [
    "TojResult", "Trial", "Zest", "ZestSettings", "log_offset_of", "most_informative_p",
    "p_correct", "run_toj",
]
