"""The tactile stimulator: two solenoids that tap index and middle fingertip, two response
buttons, a status LED.

Safety (DESIGN.md): a solenoid is never energised longer than its pulse (default 10 ms, hard
cap ``HARD_CAP_S`` = 50 ms whatever a caller asks) and is off whenever the process stops:

- every pulse's switch-off is scheduled from the measured switch-on edge, and a ``finally``
  switches both solenoids off whatever happens during a pair (exceptions included);
- SIGTERM and SIGINT handlers switch every live stimulator off and latch it (it refuses to tap
  again), then hand the signal on to the previous handler or the default action;
- ``atexit`` closes every live stimulator (off, then the guard is released);
- a separate guard process (``solenoid_guard``) switches the lines off when this process dies
  in a way no in-process code sees (SIGKILL, a crash), and a pull-down on each MOSFET gate
  keeps the solenoid off while nothing drives the line (docs/hardware.md, "Stimulator").

Times are ``time.perf_counter`` seconds (on Linux the same clock as ``time.monotonic``): each
edge is the midpoint of the two clock readings around its pin write.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from gpiozero import LED, OutputDevice
from gpiozero.pins import Factory
from gpiozero.pins.mock import MockFactory

from device.hardware.precise_time import realtime_priority, wait_until
from device.hardware.response_buttons import FINGERS, Response, ResponseButtons
from device.hardware.shared_pins import SharedFilePinFactory
from device.hardware.solenoid_guard import SolenoidGuard

log = logging.getLogger(__name__)

HARD_CAP_S = 0.050
# The longest pulse aimed at: the cap less a margin for a late switch-off (the wait's overshoot,
# the pin write, the odd scheduling hiccup), so that the delivered pulse stays under the cap.
MAX_PULSE_S = HARD_CAP_S - 0.0005
# Every switch-off is aimed this much early, and from the start of the switch-on write, so that
# the delivered pulse is not longer than its width.
SWITCH_OFF_LEAD_S = 50e-6
SOA_RANGE_S = (0.001, 0.300)


class StimulatorError(RuntimeError):
    """The stimulator cannot be used; the message says what to check."""


class StimulatorHaltedError(StimulatorError):
    """A stop signal or exit switched this stimulator off for good."""


@dataclass(frozen=True)
class StimulatorPins:
    """BCM pin numbers; the defaults are DESIGN.md's."""

    solenoid_index: int = 17
    solenoid_middle: int = 27
    button_index: int = 5
    button_middle: int = 6
    led: int = 22

    def __post_init__(self) -> None:
        used: dict[int, str] = {}
        for name, number in vars(self).items():
            if number in used:
                raise ValueError(
                    f"stimulator pins: {name} and {used[number]} are both BCM {number}")
            used[number] = name

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> StimulatorPins:
        return cls(section["solenoid_index_pin"], section["solenoid_middle_pin"],
                   section["button_index_pin"], section["button_middle_pin"], section["led_pin"])

    def solenoids(self) -> dict[str, int]:
        return {"index": self.solenoid_index, "middle": self.solenoid_middle}

    def buttons(self) -> dict[str, int]:
        return {"index": self.button_index, "middle": self.button_middle}


@dataclass(frozen=True)
class Tap:
    finger: str
    on_s: float
    off_s: float

    @property
    def width_s(self) -> float:
        return self.off_s - self.on_s


@dataclass(frozen=True)
class TapPair:
    first: str
    requested_soa_s: float
    requested_pulse_s: float
    pulse_s: float  # the width used (the request, clamped to the hard cap)
    taps: tuple[Tap, Tap]  # in onset order
    realtime: bool  # delivered under real-time scheduling

    @property
    def delivered_soa_s(self) -> float:
        return self.taps[1].on_s - self.taps[0].on_s


def clamp_pulse(requested_s: float) -> float:
    """The pulse width to use: ``requested_s`` up to ``MAX_PULSE_S`` (with a warning above
    the hard cap)."""
    if not (math.isfinite(requested_s) and requested_s > 0):
        raise ValueError(f"pulse width must be a positive number of seconds, got {requested_s!r}")
    if requested_s > HARD_CAP_S:
        log.warning("solenoid pulse of %.1f ms requested; clamped to the hard cap of %.0f ms "
                    "(aimed at %.1f ms)", requested_s * 1e3, HARD_CAP_S * 1e3, MAX_PULSE_S * 1e3)
    return min(requested_s, MAX_PULSE_S)


class Stimulator:
    """Solenoids, response buttons and status LED on gpiozero devices.

    ``pin_factory``: gpiozero's factory (None: its default, the Pi's GPIO). ``guard``: start a
    guard process that switches the solenoids off if this process dies; it must be able to
    reach the pins from another process (the Pi's GPIO or a ``SharedFilePinFactory``).
    ``wait``: how to wait until an instant (the bench swaps in the naive ``time.sleep``).
    ``realtime``: deliver each pair under SCHED_FIFO when the process may (see
    ``precise_time.realtime_priority``); without it, load on the machine delays edges.
    """

    def __init__(
        self,
        pins: StimulatorPins | None = None,
        *,
        pulse_s: float = 0.010,
        debounce_s: float = 0.010,
        pin_factory: Factory | None = None,
        guard: bool = False,
        wait: Callable[[float], float] = wait_until,
        realtime: bool = True,
    ) -> None:
        self.pins = pins or StimulatorPins()
        self.realtime = realtime
        self._warned_not_realtime = False
        self.pulse_s = clamp_pulse(pulse_s)
        self._wait = wait
        self._lock = threading.RLock()  # re-entrant: a signal handler may run inside a write
        self._halted = False
        self._closed = False
        self._guard = (SolenoidGuard.start(list(self.pins.solenoids().values()),
                                           _guard_backend(pin_factory)) if guard else None)
        self._solenoids: dict[str, OutputDevice] = {}
        self.led: LED | None = None
        self.buttons: ResponseButtons | None = None
        try:
            for finger, number in self.pins.solenoids().items():
                self._solenoids[finger] = OutputDevice(number, initial_value=False,
                                                       pin_factory=pin_factory)
            self.led = LED(self.pins.led, pin_factory=pin_factory)
            self.buttons = ResponseButtons(self.pins.buttons(), debounce_s=debounce_s,
                                           pin_factory=pin_factory)
        except Exception:
            self.close()
            raise
        _register(self)

    # -- taps ------------------------------------------------------------------------------
    def tap_pair(self, first: str, soa_s: float, *, pulse_s: float | None = None) -> TapPair:
        """Tap ``first``, then the other finger ``soa_s`` later; each pulse ``pulse_s`` wide
        (default: the configured width; never above the hard cap)."""
        if first not in FINGERS:
            raise ValueError(f"first must be one of {FINGERS}, got {first!r}")
        lo, hi = SOA_RANGE_S
        if not (math.isfinite(soa_s) and lo <= soa_s <= hi):
            raise ValueError(f"SOA must be between {lo * 1e3:.0f} and {hi * 1e3:.0f} ms, "
                             f"got {soa_s * 1e3:g} ms")
        requested = self.pulse_s if pulse_s is None else pulse_s
        width = clamp_pulse(requested)
        second = FINGERS[1 - FINGERS.index(first)]
        on: dict[str, float] = {}
        off: dict[str, float] = {}
        with realtime_priority() if self.realtime else nullcontext(False) as realtime:
            if self.realtime and not realtime:
                self._warn_not_realtime()
            self._deliver(first, second, soa_s, width, on, off)
        return TapPair(first, soa_s, requested, width,
                       (Tap(first, on[first], off[first]), Tap(second, on[second], off[second])),
                       realtime)

    def _deliver(self, first: str, second: str, soa_s: float, width: float,
                 on: dict[str, float], off: dict[str, float]) -> None:
        """Switch the solenoids on and off on time, filling in the measured edges."""
        end = width - SWITCH_OFF_LEAD_S
        try:
            before, on[first] = self._switch(first, True)
            # (time, switch-off before switch-on at a tie, finger, state)
            pending = [(before + end, 0, first, False), (on[first] + soa_s, 1, second, True)]
            while pending:
                pending.sort()
                target, _, finger, state = pending.pop(0)
                self._wait(target)
                before, edge = self._switch(finger, state)
                if state:
                    on[finger] = edge
                    pending.append((before + end, 0, finger, False))
                else:
                    off[finger] = edge
        finally:
            self.all_off()

    def _warn_not_realtime(self) -> None:
        if not self._warned_not_realtime:
            self._warned_not_realtime = True
            log.warning("no real-time priority for the stimulator (needs root, CAP_SYS_NICE "
                        "or LimitRTPRIO); load on the machine may delay taps")

    def _switch(self, finger: str, state: bool) -> tuple[float, float]:
        """Write one solenoid; the clock before the write, and the edge's estimated time."""
        with self._lock:
            if state and (self._halted or self._closed):
                raise StimulatorHaltedError("the stimulator was switched off for good (stop "
                                            "signal, exit or close); open a new one")
            device = self._solenoids[finger]
            before = time.perf_counter()
            device.value = state
            after = time.perf_counter()
        return before, (before + after) / 2

    def all_off(self) -> None:
        """Switch both solenoids off; every one is tried even if another fails."""
        failure: Exception | None = None
        with self._lock:
            for device in self._solenoids.values():
                try:
                    device.off()
                except Exception as exc:  # a closed or faulty pin must not stop the other
                    failure = failure or exc
        if failure is not None:
            raise failure

    def halt(self) -> None:
        """Switch off and refuse every later tap (what a stop signal does)."""
        with self._lock:
            self._halted = True
            self.all_off()

    @property
    def halted(self) -> bool:
        return self._halted

    # -- responses -------------------------------------------------------------------------
    def wait_for_response(self, timeout_s: float, *, since: float | None = None) -> Response:
        """The first button press after ``since`` (default: now), LED lit while waiting."""
        assert self.led is not None and self.buttons is not None
        self.led.on()
        try:
            return self.buttons.wait(timeout_s, since=since)
        finally:
            self.led.off()

    # -- lifetime --------------------------------------------------------------------------
    @property
    def guard_pid(self) -> int | None:
        return None if self._guard is None else self._guard.pid

    def close(self) -> None:
        """Switch off, free the pins, and let the guard go (only once the lines are off)."""
        if self._closed:
            return
        self._closed = True
        switched_off = True
        try:
            self.all_off()
        except Exception:
            switched_off = False
            log.exception("could not switch the solenoids off; the guard process will")
        for device in [*self._solenoids.values(), self.led, self.buttons]:
            if device is not None:
                device.close()
        _live.discard(self)
        if self._guard is not None and switched_off:
            self._guard.release()

    def __enter__(self) -> Stimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TojIO:
    """Plugs a stimulator into ``device.tojt.run_toj`` (which speaks milliseconds)::

        io = TojIO(stimulator, response_timeout_s=5.0)
        result = run_toj(Zest(), io.stimulate, io.respond, rng=rng)

    Reaction times are measured from the second tap's onset; ``pairs`` and ``responses`` keep
    every trial's edges and answer.
    """

    def __init__(self, stimulator: Stimulator, *, response_timeout_s: float,
                 pause_s: float = 0.5) -> None:
        self.stimulator = stimulator
        self.response_timeout_s = response_timeout_s
        self.pause_s = pause_s
        self.pairs: list[TapPair] = []
        self.responses: list[Response] = []

    def stimulate(self, first: str, soa_ms: float) -> float:
        if self.pairs and self.pause_s > 0:
            time.sleep(self.pause_s)
        pair = self.stimulator.tap_pair(first, soa_ms / 1e3)
        self.pairs.append(pair)
        return pair.delivered_soa_s * 1e3

    def respond(self, trial: int) -> str | None:
        if len(self.pairs) != trial:
            raise RuntimeError(f"answer asked for trial {trial} after {len(self.pairs)} pairs")
        since = self.pairs[-1].taps[1].on_s
        response = self.stimulator.wait_for_response(self.response_timeout_s, since=since)
        self.responses.append(response)
        return response.finger


# -- process-wide safety ---------------------------------------------------------------------
_live: weakref.WeakSet[Stimulator] = weakref.WeakSet()
_previous_handlers: dict[int, Any] = {}
_hooks_lock = threading.Lock()


def _guard_backend(pin_factory: Factory | None) -> list[str]:
    if isinstance(pin_factory, SharedFilePinFactory):
        return ["--pin-file", str(pin_factory.path)]
    if isinstance(pin_factory, MockFactory):
        raise ValueError("a guard process cannot reach MockFactory pins; use "
                         "SharedFilePinFactory or guard=False")
    return ["--gpio"]


def _register(stimulator: Stimulator) -> None:
    with _hooks_lock:
        _live.add(stimulator)
        if threading.current_thread() is not threading.main_thread():
            if not _previous_handlers:
                log.warning("stimulator opened outside the main thread: no SIGTERM/SIGINT "
                            "handlers; the guard process and atexit remain")
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            current = signal.getsignal(signum)
            if signum in _previous_handlers or current in (signal.SIG_IGN, None):
                continue  # ignored, or set outside Python (then it cannot be handed on)
            _previous_handlers[signum] = current
            signal.signal(signum, _on_stop_signal)


def _close_all() -> None:
    for stimulator in list(_live):
        stimulator.close()


atexit.register(_close_all)  # after gpiozero's own, so it runs before gpiozero closes pins


def _on_stop_signal(signum: int, frame: object) -> None:
    for stimulator in list(_live):
        try:
            stimulator.halt()
        except Exception:
            log.exception("could not switch a stimulator off on signal %d", signum)
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
