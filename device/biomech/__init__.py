"""Hand biomechanics: force and range-of-motion measures, norms, asymmetry, group statistics."""

from device.biomech.compute import measures_from, recompute
from device.biomech.force import independence, max_force, reduction_rates
from device.biomech.measure import Measure
from device.biomech.norms import Asymmetry, Norms, asymmetry
from device.biomech.recording import Recording, RecordingError
from device.biomech.rom import range_of_motion
from device.biomech.tapping import tapping

__all__ = [
    "Asymmetry", "Measure", "Norms", "Recording", "RecordingError", "asymmetry", "independence",
    "max_force", "measures_from", "range_of_motion", "recompute", "reduction_rates", "tapping",
]
