"""Key events from MIDI: a USB digital piano through `mido` with the `python-rtmidi` backend,
and MIDI files (`.mid`) for `dystonia-box analyze --keys`.

A live message is stamped with the Pi's monotonic clock when it arrives (MIDI itself carries
no time stamp), in rtmidi's own thread. note_on starts a key, note_off or note_on with
velocity 0 (running-status style) ends it; notes outside the piano's 21..108 are ignored.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mido

from device.hardware.key_source import ONSET, RELEASE, Cue, KeyEvent, KeySource
from device.takefile import MIDI_HIGH, MIDI_LOW

BACKEND = "mido.backends.rtmidi"
#: Ports the first-found choice skips: the ALSA loop-back is not a piano.
NOT_A_PIANO = ("Midi Through",)


class MidiError(RuntimeError):
    """No usable MIDI input; the message says what was found and what to do."""


def message_event(message: mido.Message, time_s: float) -> KeyEvent | None:
    """The key event a MIDI message stands for, or None (other messages, notes off the piano)."""
    if message.type not in ("note_on", "note_off"):
        return None
    if not MIDI_LOW <= message.note <= MIDI_HIGH:
        return None
    if message.type == "note_on" and message.velocity > 0:
        return KeyEvent(time_s, message.note, ONSET, message.velocity / 127)
    velocity = message.velocity / 127 if message.type == "note_off" else math.nan
    return KeyEvent(time_s, message.note, RELEASE, velocity)


def read_midi_file(path: Path | str) -> list[KeyEvent]:
    """Key events of a MIDI file, times in seconds from its start (its tempo map applied)."""
    path = Path(path)
    try:
        midi = mido.MidiFile(path)
        events: list[KeyEvent] = []
        now = 0.0
        for message in midi:  # merged tracks, delta times in seconds
            now += message.time
            event = message_event(message, now)
            if event is not None:
                events.append(event)
    except FileNotFoundError:
        raise MidiError(f"{path}: MIDI file not found") from None
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError) as error:
        raise MidiError(f"{path}: not a readable MIDI file ({error})") from None
    return events


def load_backend() -> Any:
    try:
        return mido.Backend(BACKEND, load=True)
    except ImportError as error:
        raise MidiError(f"the MIDI backend python-rtmidi is not installed ({error})") from None


def input_names(backend: Any) -> list[str]:
    try:
        return list(backend.get_input_names())
    except Exception as error:  # rtmidi raises its own SystemError subclasses
        raise MidiError(
            f"the MIDI system cannot be used ({error}); on a box check that the ALSA "
            "sequencer (/dev/snd/seq, kernel module snd-seq) is available") from None


def choose_port(names: list[str], wanted: str) -> str:
    """`wanted` (exactly, or the one port whose name starts with it), or the first piano."""
    listed = ", ".join(names) or "none"
    if wanted:
        if wanted in names:
            return wanted
        starting = [name for name in names if name.startswith(wanted)]
        if len(starting) == 1:
            return starting[0]
        raise MidiError(f"MIDI input port {wanted!r} not found (ports: {listed}); set "
                        "keys.midi_port to one of them, or leave it empty for the first")
    pianos = [name for name in names if not name.startswith(NOT_A_PIANO)]
    if not pianos:
        raise MidiError(f"no MIDI input port found (ports: {listed}): connect the digital "
                        "piano by USB and switch it on")
    return pianos[0]


class MidiSource(KeySource):
    """Key events from a live MIDI input port."""

    name = "MIDI keys"

    def __init__(self, port: str = "", *, clock: Callable[[], float] = time.monotonic,
                 backend: Any = None) -> None:
        self.clock = clock
        backend = backend if backend is not None else load_backend()
        self.port_name = choose_port(input_names(backend), port)
        self._events: deque[KeyEvent] = deque()
        self._recording = False
        self._lock = threading.Lock()
        try:
            self._port = backend.open_input(self.port_name, callback=self.receive)
        except Exception as error:
            raise MidiError(f"cannot open MIDI input {self.port_name!r}: {error}") from None

    def receive(self, message: mido.Message) -> None:
        """rtmidi's callback: stamp on arrival, keep key events while recording."""
        arrived = self.clock()
        event = message_event(message, arrived)
        if event is not None:
            with self._lock:
                if self._recording:
                    self._events.append(event)

    def start(self, cue: Cue | None = None) -> None:
        with self._lock:
            self._events.clear()
            self._recording = True

    def stop(self) -> None:
        with self._lock:
            self._recording = False

    def drain(self) -> list[KeyEvent]:
        with self._lock:
            events = list(self._events)
            self._events.clear()
        return events

    def close(self) -> None:
        self.stop()
        self._port.close()
