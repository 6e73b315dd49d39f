"""The five finger force cells as the rest of the box sees them.

`ForceCells` is the interface: a background loop takes one conversion from each finger's
cell per round and turns it into a `ForceSample` (timestamp on the `time.monotonic` clock,
newtons, raw counts, saturation flags). `tare` zeroes the cells from a short average;
`calibrate` finds a cell's newtons per count from a known mass (the result is saved with
`force_calibration.write_newtons_per_count`).

Two sources of counts sit behind it: `NAU7802Bank`, the five ADCs on the I2C bus polled
round-robin, and the simulated hand in `sim_force`. `open_force_cells` picks one from the
configuration.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from device.hardware import nau7802
from device.hardware.force_calibration import MIN_CALIBRATION_COUNTS, calibration_factor
from device.hardware.i2c import I2CBus, open_bus
from device.hardware.nau7802 import NAU7802, ForceCellError, is_saturated
from device.platform import is_raspberry_pi
from device.protocol import FINGER_NAMES

__all__ = [
    "FINGER_NAMES",
    "CountSource",
    "ForceCellArray",
    "ForceCellError",
    "ForceCells",
    "ForceSample",
    "NAU7802Bank",
    "open_force_cells",
]

#: Sensitivity used for a cell whose `force.newtons_per_count` is 0 (not calibrated):
#: the nominal 10 kg, 1 mV/V TAL220 at gain 128.
NOMINAL_NEWTONS_PER_COUNT = 1.0 / nau7802.bridge_counts_per_newton()


@dataclass(frozen=True)
class ForceSample:
    """One round over the five cells, thumb to little."""

    t: float  # seconds, time.monotonic clock: the middle of the round's reads
    newtons: tuple[float, ...]
    counts: tuple[int, ...]
    saturated: tuple[bool, ...]


class CountSource(Protocol):
    """Where raw counts come from: real ADCs or a simulation."""

    rate_sps: int

    def start(self) -> None:
        """Make the cells ready to convert (may take a fraction of a second)."""

    def read_round(self) -> tuple[float, list[int]]:
        """Wait for a new conversion of every finger; its time and the five counts."""
        ...

    def close(self) -> None: ...


class ForceCells(Protocol):
    """What procedures use."""

    fingers: tuple[str, ...]

    def read(self, timeout_s: float = 1.0) -> ForceSample: ...
    def collect(self, duration_s: float) -> list[ForceSample]: ...
    def recording(self) -> contextlib.AbstractContextManager[list[ForceSample]]: ...
    def tare(self, duration_s: float = 0.5) -> tuple[float, ...]: ...
    def calibrate(
        self, finger: str, known_mass_kg: float, duration_s: float = 1.0, settle_s: float = 0.5
    ) -> float: ...
    def limits(self) -> tuple[float, ...]: ...
    def close(self) -> None: ...


class NAU7802Bank:
    """The five NAU7802, one per finger, behind the multiplexer, read round-robin."""

    def __init__(
        self,
        bus: I2CBus,
        *,
        channels: Sequence[int],
        address: int = nau7802.ADDRESS,
        rate_sps: int = 320,
        gain: int = 128,
        ldo_settle_s: float = nau7802.LDO_SETTLE_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if len(channels) != len(FINGER_NAMES):
            raise ValueError(f"force.channels needs {len(FINGER_NAMES)} channels "
                             f"(thumb to little), got {list(channels)}")
        self.rate_sps = rate_sps
        self.gain = gain
        self.ldo_settle_s = ldo_settle_s
        self._sleep = sleep
        self._clock = clock
        self.chips = [
            NAU7802(bus.device(f"force cell ({finger})", address, channel),
                    sleep=sleep, clock=clock)
            for finger, channel in zip(FINGER_NAMES, channels, strict=True)
        ]

    def start(self) -> None:
        for chip in self.chips:
            chip.prepare(gain=self.gain, rate_sps=self.rate_sps)
        self._sleep(self.ldo_settle_s)  # all five LDOs ramp together
        for chip in self.chips:
            chip.calibrate_offset()

    def read_round(self) -> tuple[float, list[int]]:
        # Each chip converts on its own clock, so one round takes about one conversion
        # period; a chip that missed its turn is read at once on the next.
        timeout = 10.0 / self.rate_sps + 0.1
        counts, times = [], []
        for chip in self.chips:
            counts.append(chip.wait_counts(timeout))
            times.append(self._clock())
        return sum(times) / len(times), counts

    def close(self) -> None:
        """Nothing to release: the bus belongs to whoever opened it."""


class ForceCellArray:
    """`ForceCells` over any `CountSource`, with its sampling thread."""

    fingers = FINGER_NAMES

    def __init__(self, source: CountSource, newtons_per_count: Sequence[float]) -> None:
        if len(newtons_per_count) != len(FINGER_NAMES):
            raise ValueError(f"force.newtons_per_count needs {len(FINGER_NAMES)} numbers, "
                             f"got {list(newtons_per_count)}")
        self.source = source
        self.newtons_per_count = [float(v) for v in newtons_per_count]
        self.offsets = [0.0] * len(FINGER_NAMES)
        self.tared = False
        self._cond = threading.Condition()
        self._latest: ForceSample | None = None
        self._sequence = 0
        self._sinks: list[list[ForceSample]] = []
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._life = threading.Lock()  # start and close from several threads

    # --- life cycle -------------------------------------------------------------------
    @property
    def calibrated(self) -> tuple[bool, ...]:
        return tuple(v != 0.0 for v in self.newtons_per_count)

    def start(self) -> None:
        """Start the ADCs and the sampling loop (again after `close` or a failure)."""
        with self._life:
            if self._thread is not None and self._thread.is_alive():
                return
            self.source.start()
            self._stop.clear()
            self._error = None
            self._thread = threading.Thread(target=self._run, name="force-cells", daemon=True)
            self._thread.start()

    def close(self) -> None:
        with self._life:
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout=2.0)
            self._thread = None
            self.source.close()

    def __enter__(self) -> ForceCellArray:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                t, counts = self.source.read_round()
            except Exception as error:  # handed to the reader, who raises it
                with self._cond:
                    self._error = error
                    self._cond.notify_all()
                return
            sample = self.convert(t, counts)
            with self._cond:
                self._latest = sample
                self._sequence += 1
                for sink in self._sinks:
                    sink.append(sample)
                self._cond.notify_all()

    # --- conversion -------------------------------------------------------------------
    def scale(self, finger: int) -> float:
        """Newtons per count of one finger (nominal when not calibrated)."""
        value = self.newtons_per_count[finger]
        return value if value != 0.0 else NOMINAL_NEWTONS_PER_COUNT

    def convert(self, t: float, counts: Sequence[int]) -> ForceSample:
        return ForceSample(
            t=t,
            newtons=tuple((c - self.offsets[i]) * self.scale(i) for i, c in enumerate(counts)),
            counts=tuple(int(c) for c in counts),
            saturated=tuple(is_saturated(c) for c in counts),
        )

    def limits(self) -> tuple[float, ...]:
        """Force each cell reads when its ADC clips, in newtons (for `Recording.limit`)."""
        out = []
        for i in range(len(FINGER_NAMES)):
            scale = self.scale(i)
            full = nau7802.FULL_SCALE_POSITIVE if scale > 0 else nau7802.FULL_SCALE_NEGATIVE
            out.append((full - self.offsets[i]) * scale)
        return tuple(out)

    # --- reading ----------------------------------------------------------------------
    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def read(self, timeout_s: float = 1.0) -> ForceSample:
        """The next sample after this call."""
        self.start()
        with self._cond:
            seen = self._sequence
            if not self._cond.wait_for(
                lambda: self._sequence > seen or self._error is not None, timeout_s
            ):
                raise TimeoutError(f"no force sample within {timeout_s:g} s")
            self._raise_if_failed()
            assert self._latest is not None
            return self._latest

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[ForceSample]]:
        """A list that gets every sample taken while the block runs."""
        self.start()
        sink: list[ForceSample] = []
        with self._cond:
            self._sinks.append(sink)
        try:
            yield sink
        finally:
            with self._cond:
                self._sinks.remove(sink)
        self._raise_if_failed()

    def collect(self, duration_s: float) -> list[ForceSample]:
        """Every sample of the next `duration_s` seconds."""
        if not duration_s > 0:
            raise ValueError(f"duration must be positive, got {duration_s}")
        with self.recording() as samples:
            deadline = time.monotonic() + duration_s
            with self._cond:
                self._cond.wait_for(
                    lambda: self._error is not None or time.monotonic() >= deadline,
                    duration_s,
                )
        return list(samples)

    def tare(self, duration_s: float = 0.5, max_spread_n: float = 1.0) -> tuple[float, ...]:
        """Zero every cell at its mean over `duration_s`; the hand rests still (or is off).

        Refuses when a cell moved by more than `max_spread_n` newtons meanwhile.
        """
        samples = self.collect(duration_s)
        for i, finger in enumerate(FINGER_NAMES):
            values = [s.counts[i] * self.scale(i) for s in samples]
            if values and max(values) - min(values) > max_spread_n:
                raise ForceCellError(
                    f"cannot tare: the {finger} cell changed by "
                    f"{max(values) - min(values):.2f} N (more than {max_spread_n:g} N); "
                    "rest the fingers still, or lift them off, and tare again"
                )
        self.offsets = self._mean_from(samples, "tare")
        self.tared = True
        return tuple(self.offsets)

    def _mean_from(self, samples: list[ForceSample], what: str) -> list[float]:
        if not samples:
            raise ForceCellError(f"no force samples to {what}")
        clipped = [f for i, f in enumerate(FINGER_NAMES) if any(s.saturated[i] for s in samples)]
        if clipped:
            raise ForceCellError(
                f"cannot {what}: the {', '.join(clipped)} cell reads full scale; check its "
                "four load-cell wires and that nothing presses on it"
            )
        n = len(samples)
        return [sum(s.counts[i] for s in samples) / n for i in range(len(FINGER_NAMES))]

    def calibrate(
        self, finger: str, known_mass_kg: float, duration_s: float = 1.0, settle_s: float = 0.5
    ) -> float:
        """Newtons per count of `finger`'s cell with `known_mass_kg` resting on it.

        Tare with the cell unloaded first. The reading is averaged over `duration_s` after
        `settle_s` (the weight stops swinging). The result is used from now on; save it
        with `force_calibration.write_newtons_per_count`.
        """
        if finger not in FINGER_NAMES:
            raise ValueError(f"finger must be one of {FINGER_NAMES}, got {finger!r}")
        if not (math.isfinite(known_mass_kg) and known_mass_kg > 0):
            raise ValueError(f"the known mass must be a positive number of kilograms, "
                             f"got {known_mass_kg!r}")
        if not self.tared:
            raise ForceCellError("tare the cells with nothing on them before calibrating")
        i = FINGER_NAMES.index(finger)
        if settle_s > 0:
            self.collect(settle_s)
        loaded = self._mean_from(self.collect(duration_s), "calibrate")[i]
        if abs(loaded - self.offsets[i]) < MIN_CALIBRATION_COUNTS:
            raise ForceCellError(
                f"the {finger} cell changed by only {loaded - self.offsets[i]:.0f} counts "
                f"under {known_mass_kg:g} kg: is the weight on the {finger} cell, and is "
                "that cell wired to its channel?"
            )
        factor = calibration_factor(known_mass_kg, self.offsets[i], loaded)
        self.newtons_per_count[i] = factor
        return factor


def resolve_source(config: Mapping[str, Mapping[str, Any]]) -> str:
    """"nau7802" or "sim" for this machine.

    `force.source = auto` follows `box.simulate` when that is not auto; otherwise the real
    cells when /dev/i2c-N exists or this is a Raspberry Pi (a box without I2C enabled is a
    fault to report, never a silent switch to simulation), else the simulation.
    """
    source = config["force"]["source"]
    if source != "auto":
        return str(source)
    simulate = config["box"]["simulate"] if "box" in config else "auto"
    if simulate == "sim":
        return "sim"
    if simulate == "real":
        return "nau7802"
    bus_file = Path(f"/dev/i2c-{config['i2c']['bus']}")
    return "nau7802" if bus_file.exists() or is_raspberry_pi() else "sim"


def open_force_cells(
    config: Mapping[str, Mapping[str, Any]], bus: I2CBus | None = None
) -> ForceCellArray:
    """The configured force cells, not yet sampling (`start`, or the first read, starts)."""
    force = config["force"]
    if resolve_source(config) == "sim":
        from device.hardware.sim_force import SimulatedCells, SimulatedHand

        sim = config.get("simulation", {})
        hand = SimulatedHand(patient=sim.get("patient", "healthy"), seed=sim.get("seed", 1))
        return ForceCellArray(SimulatedCells(hand, rate_sps=force["rate_sps"]),
                              force["newtons_per_count"])
    if bus is None:
        i2c = config["i2c"]
        bus = I2CBus(open_bus(i2c["bus"]), mux_address=i2c["mux_address"],
                     retries=i2c["retries"])
    bank = NAU7802Bank(bus, channels=force["channels"], address=force["address"],
                       rate_sps=force["rate_sps"])
    return ForceCellArray(bank, force["newtons_per_count"])
