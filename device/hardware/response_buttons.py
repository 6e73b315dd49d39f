"""The two response buttons: which finger the person says came first, and how fast.

Each button closes its pin to ground (gpiozero ``Button``, internal pull-up). Debouncing is
done here rather than by ``bounce_time``, because gpiozero's mock pins do not implement
bounce, and because here a press is dated by its *first* contact: a burst of edges counts as a
press once the button has stayed down for ``debounce_s`` after the burst's last edge, and its
time is the burst's first edge. A burst that ends released (a glitch) is no press at all.
Edge times come from gpiozero's event timestamps (``active_time`` is the age of the edge; on
lgpio it is the kernel's timestamp), not from when the callback thread got to run.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gpiozero import Button
from gpiozero.pins import Factory

FINGERS = ("index", "middle")
# An edge's time stamp older than this when its callback runs is on some other clock (lgpio
# has mixed CLOCK_MONOTONIC and CLOCK_REALTIME stamps, joan2937/lg issue #19).
MAX_EDGE_AGE_S = 1.0


@dataclass(frozen=True)
class Response:
    finger: str | None  # None: no press before the timeout
    reaction_s: float | None  # from the reference instant to the press's first contact
    pressed_s: float | None  # clock time of that first contact


@dataclass
class _Burst:
    start: float  # first contact
    last_edge: float
    down: bool


class ResponseButtons:
    """Two debounced buttons, read as the first settled press after a reference instant."""

    def __init__(
        self,
        pins: Mapping[str, int],
        *,
        debounce_s: float,
        pin_factory: Factory | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if set(pins) != set(FINGERS):
            raise ValueError(f"response buttons needs pins for {FINGERS}, got {sorted(pins)}")
        if not 0.0 <= debounce_s <= 0.1:
            raise ValueError(f"debounce_s must be between 0 and 0.1 s, got {debounce_s}")
        self.debounce_s = debounce_s
        self._clock = clock
        self._edges: queue.SimpleQueue[tuple[float, str, bool]] = queue.SimpleQueue()
        self.buttons: dict[str, Button] = {}
        try:
            for finger in FINGERS:
                button = Button(pins[finger], pull_up=True, bounce_time=None,
                                pin_factory=pin_factory)
                self.buttons[finger] = button
                button.when_pressed = self._recorder(finger, button, down=True)
                button.when_released = self._recorder(finger, button, down=False)
        except Exception:
            self.close()
            raise

    def _recorder(self, finger: str, button: Button, *, down: bool) -> Callable[[], None]:
        def record() -> None:
            age = button.active_time if down else button.inactive_time
            if age is None or not 0.0 <= age < MAX_EDGE_AGE_S:
                age = 0.0  # a stamp on another clock (lg issue #19): date it by the callback
            self._edges.put((self._clock() - age, finger, down))

        return record

    def pressed(self) -> dict[str, bool]:
        """Which buttons read pressed right now (a self-test finds stuck ones this way)."""
        return {finger: button.is_pressed for finger, button in self.buttons.items()}

    def wait(self, timeout_s: float, *, since: float | None = None) -> Response:
        """The first press that starts after ``since`` (default: now) and within ``timeout_s``.

        A press that starts before the timeout but settles after it still counts.
        """
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        since = self._clock() if since is None else since
        deadline = since + timeout_s
        bursts: dict[str, _Burst] = {}
        while True:
            self._take_edges(bursts, since, deadline)
            now = self._clock()
            settled = [
                (burst.start, finger) for finger, burst in bursts.items()
                if now >= burst.last_edge + self.debounce_s
            ]
            for start, finger in sorted(settled):
                if bursts[finger].down:
                    return Response(finger, start - since, start)
                del bursts[finger]  # a glitch: released again within the debounce time
            if not bursts and now >= deadline:
                return Response(None, None, None)
            wake = min([b.last_edge + self.debounce_s for b in bursts.values()] or [deadline])
            self._take_edges(bursts, since, deadline, block_s=max(wake - now, 0.0))

    def _take_edges(
        self, bursts: dict[str, _Burst], since: float, deadline: float, block_s: float = 0.0
    ) -> None:
        """Apply the queued edges (waiting up to ``block_s`` for the first one)."""
        try:
            edge = self._edges.get(timeout=block_s) if block_s > 0 else self._edges.get_nowait()
        except queue.Empty:
            return
        while True:
            t, finger, down = edge
            burst = bursts.get(finger)
            if burst is not None:
                burst.last_edge, burst.down = t, down
            elif down and since <= t < deadline:
                bursts[finger] = _Burst(t, t, True)
            try:
                edge = self._edges.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        for button in self.buttons.values():
            button.close()
