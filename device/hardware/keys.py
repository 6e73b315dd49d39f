"""Key sensors behind one interface: the key bar (I2C), a USB MIDI piano, none, or simulated.

`open_keys(config)` picks the source. `auto` means simulated off the Pi (or when
`[box] simulate = "sim"`); on a box it looks for the key bar, then a MIDI piano, and settles
for none (keystroke times then come from hand motion). A source that is named in the
configuration but does not answer raises `KeySourceError`; it is never replaced by another.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from device.config import Config
from device.hardware.check import Check
from device.hardware.i2c import I2CBus, I2CDeviceError, I2CError, open_bus
from device.hardware.key_source import Cue, KeyEvent, KeySource, keys_array
from device.hardware.keybar import KeyBar, KeyBarError, RawKeyEvent
from device.hardware.midi import (
    MidiError,
    MidiSource,
    choose_port,
    input_names,
    load_backend,
    read_midi_file,
)
from device.hardware.performance import perform, tempo_bpm
from device.platform import is_raspberry_pi
from device.protocol import Protocol
from device.protocol import load as load_protocol

__all__ = ["OVERFLOW_ADVICE", "Cue", "KeyBarSource", "KeyEvent", "KeySource", "KeySourceError",
           "MidiSource", "NoKeys", "SimulatedKeys", "keys_array", "open_keys", "read_midi_file",
           "selftest_keys"]

#: What the clinician is told about a take whose source reports `overflowed`.
OVERFLOW_ADVICE = ("The key sensor lost keystrokes during this take (its queue overflowed), "
                   "so the take cannot be timed reliably. Please record it again.")


class KeySourceError(RuntimeError):
    """The configured key sensor cannot be used; the message says which and what to check."""


class NoKeys(KeySource):
    """No key sensor: an empty stream (the take is trimmed from hand motion)."""

    name = "no key sensor"

    def start(self, cue: Cue | None = None) -> None:
        pass

    def stop(self) -> None:
        pass

    def drain(self) -> list[KeyEvent]:
        return []


class SimulatedKeys(KeySource):
    """A synthetic pianist plays the cued task from `lead_in_s` after `start()`; `drain()`
    hands out the keystrokes whose time has come, `stop()` ends the performance there."""

    name = "simulated keys"

    def __init__(self, seed: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 lead_in_s: float = 1.0, protocol: Protocol | None = None) -> None:
        self.clock = clock
        self.lead_in_s = lead_in_s
        self.protocol = protocol or load_protocol()
        self.rng = np.random.default_rng(seed)
        self._waiting: deque[KeyEvent] = deque()
        self._stopped_at: float | None = None

    def start(self, cue: Cue | None = None) -> None:
        cue = cue or Cue()
        task = self.protocol.task(cue.task)
        bpm = cue.bpm or tempo_bpm(task, cue.tempo_mode)
        events = perform(task, self.rng, dynamics=cue.dynamics, bpm=bpm,
                         start_s=self.clock() + self.lead_in_s)
        self._waiting = deque(events)
        self._stopped_at = None

    def stop(self) -> None:
        self._stopped_at = self.clock()

    def drain(self) -> list[KeyEvent]:
        until = self._stopped_at if self._stopped_at is not None else self.clock()
        due = []
        while self._waiting and self._waiting[0].time_s <= until:
            due.append(self._waiting.popleft())
        if self._stopped_at is not None:
            self._waiting.clear()
        return due


class KeyBarSource(KeySource):
    """The key bar, polled in a background thread: overflow flag, FIFO, and a clock
    re-synchronisation every `resync_s`. With `background=False` the caller calls `poll()`."""

    name = "key bar"

    def __init__(self, bar: KeyBar, *, poll_s: float = 0.01, resync_s: float = 1.0,
                 initial_reads: int = 32, resync_reads: int = 8,
                 background: bool = True) -> None:
        self.bar = bar
        self.poll_s, self.resync_s = poll_s, resync_s
        self.initial_reads, self.resync_reads = initial_reads, resync_reads
        self.background = background
        self._raw: list[RawKeyEvent] = []
        self._lock = threading.Lock()
        self._overflowed = False
        self._last_sync = -float("inf")
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._failure: BaseException | None = None

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    def start(self, cue: Cue | None = None) -> None:
        with self._lock:
            self._raw.clear()
        self._overflowed = False
        self._failure = None
        try:
            self.bar.identify()
            self.bar.control(scanning=False, clear=True)
            self.bar.status()  # clears an overflow from before this take
            self.bar.synchronise(self.initial_reads)
            self._last_sync = self.bar.clock()
            self.bar.control(scanning=True)
        except (OSError, KeyBarError) as error:
            raise KeySourceError(f"the key bar cannot start the take: {error}") from None
        if self.background:
            self._halt.clear()
            self._thread = threading.Thread(target=self._run, name="key bar", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            while not self._halt.wait(self.poll_s):
                self.poll()
        except (OSError, KeyBarError) as error:
            self._failure = error

    def poll(self) -> None:
        """Read the overflow flag and the waiting events; re-synchronise when it is time."""
        if self.bar.status().overflowed:
            self._overflowed = True
        events = self.bar.pop_events(self.bar.fifo_count())
        if self.bar.clock() - self._last_sync >= self.resync_s:
            self.bar.synchronise(self.resync_reads)
            self._last_sync = self.bar.clock()
        with self._lock:
            self._raw += events

    def stop(self) -> None:
        if self._thread is not None:
            self._halt.set()
            self._thread.join()
            self._thread = None
        self._raise_failure()
        try:
            self.bar.control(scanning=False)
            self.poll()
            self.bar.synchronise(self.resync_reads)
        except (OSError, KeyBarError) as error:
            raise KeySourceError(f"the key bar stopped answering during the take: {error}") \
                from None

    def drain(self) -> list[KeyEvent]:
        self._raise_failure()
        with self._lock:
            raw, self._raw = self._raw, []
        return [self.bar.to_key_event(event) for event in raw]

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise KeySourceError(f"the key bar stopped answering during the take: {failure}")


def simulated(config: Config) -> bool:
    mode = config["box"]["simulate"]
    return mode == "sim" or (mode == "auto" and not is_raspberry_pi())


def _bus(config: Config, bus: I2CBus | None) -> I2CBus:
    if bus is not None:
        return bus
    i2c = config["i2c"]
    return I2CBus(open_bus(i2c["bus"]), mux_address=i2c["mux_address"], retries=i2c["retries"])


def _keybar(config: Config, bus: I2CBus | None, clock: Callable[[], float]) -> KeyBar:
    """The configured key bar, its identity checked."""
    keys = config["keys"]
    channel = None if keys["keybar_channel"] < 0 else keys["keybar_channel"]
    device = _bus(config, bus).device("key bar", keys["keybar_address"], channel)
    bar = KeyBar(device, clock=clock)
    bar.identify()
    return bar


def open_keys(config: Config, bus: I2CBus | None = None, *,
              clock: Callable[[], float] = time.monotonic, midi_backend: Any = None) -> KeySource:
    """The key source the configuration names (see the module's docstring for `auto`)."""
    source = config["keys"]["source"]
    if source == "sim" or (source == "auto" and simulated(config)):
        return SimulatedKeys(config["simulation"]["seed"], clock=clock)
    if source == "none":
        return NoKeys()
    resync_s = config["keys"]["resync_s"]
    if source == "keybar":
        try:
            return KeyBarSource(_keybar(config, bus, clock), resync_s=resync_s)
        except (I2CError, I2CDeviceError, KeyBarError) as error:
            raise KeySourceError(f"key bar: {error}") from None
    if source == "midi":
        try:
            return MidiSource(config["keys"]["midi_port"], clock=clock, backend=midi_backend)
        except MidiError as error:
            raise KeySourceError(f"MIDI keys: {error}") from None
    found = _detect(config, bus, clock, midi_backend)
    return found if found is not None else NoKeys()


def _detect(config: Config, bus: I2CBus | None, clock: Callable[[], float],
            midi_backend: Any) -> KeySource | None:
    try:
        return KeyBarSource(_keybar(config, bus, clock), resync_s=config["keys"]["resync_s"])
    except (I2CError, I2CDeviceError, KeyBarError):
        pass
    try:
        return MidiSource(config["keys"]["midi_port"], clock=clock, backend=midi_backend)
    except MidiError:
        return None


def selftest_keys(config: Config, bus: I2CBus | None = None, *,
                  clock: Callable[[], float] = time.monotonic,
                  midi_backend: Any = None) -> list[Check]:
    """One finding about the key sensors, as `dystonia-box selftest` prints it."""
    source = config["keys"]["source"]
    if source == "sim" or (source == "auto" and simulated(config)):
        return [Check("key sensors", True, "simulated (no hardware is used)")]
    if source == "none":
        return [Check("key sensors", True, "none configured: keystroke times come from "
                      "hand motion")]
    if source == "keybar":
        return [_check_keybar(config, bus, clock)]
    if source == "midi":
        return [_check_midi(config, midi_backend)]
    bar = _check_keybar(config, bus, clock)
    if bar.ok:
        return [bar]
    midi = _check_midi(config, midi_backend)
    if midi.ok:
        return [midi]
    return [Check("key sensors", False,
                  f"none found (key bar: {bar.detail}; MIDI: {midi.detail})",
                  "connect the key bar or a digital piano by USB, or set [keys] source = "
                  '"none" to take keystroke times from hand motion')]


def _check_keybar(config: Config, bus: I2CBus | None, clock: Callable[[], float]) -> Check:
    try:
        bar = _keybar(config, bus, clock)
        version = bar.identify()
        first, _, _ = bar.read_clock()
        bar.synchronise(16)
        fit = bar.sync.fit()
        last, _, _ = bar.read_clock()
        waiting = bar.fifo_count()
    except (I2CError, I2CDeviceError) as error:
        return Check("key bar", False, str(error),
                     "check the key bar's cable and power, and [keys] keybar_address and "
                     "keybar_channel")
    except KeyBarError as error:
        return Check("key bar", False, str(error), "flash the key bar firmware that speaks "
                     "contract 4, or correct [keys] keybar_address")
    if first == last:
        return Check("key bar", False, "its clock (CLOCK_US) does not run",
                     "power-cycle the key bar; if it stays, its firmware has stopped")
    return Check("key bar", True,
                 f"answered at 0x{bar.device.address:02x}, protocol {version}, "
                 f"clock running (sync residual {fit.residual_s * 1e6:.1f} us), "
                 f"{waiting} events waiting")


def _check_midi(config: Config, midi_backend: Any) -> Check:
    try:
        backend = midi_backend if midi_backend is not None else load_backend()
        port = choose_port(input_names(backend), config["keys"]["midi_port"])
    except MidiError as error:
        return Check("MIDI keys", False, str(error),
                     "connect the digital piano by USB and switch it on, or set [keys] "
                     "midi_port")
    return Check("MIDI keys", True, f"input port {port!r}")
