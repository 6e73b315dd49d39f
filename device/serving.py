"""The appliance's main loop: waitress's I/O loop turned one pass at a time, so each pass can
prove to systemd's watchdog that the process is alive, and a SIGTERM ends it cleanly."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

from device.systemd_notify import LivenessWatchdog, Notifier

log = logging.getLogger(__name__)
PASS_TIMEOUT_S = 1.0  # longest one pass of the I/O loop waits for a socket event


def _socket_map(server: Any) -> dict:
    # A single listener keeps its map in ``_map``; several (MultiSocketServer) in ``map``.
    return server._map if hasattr(server, "_map") else server.map


def run_until_stopped(server: Any, notifier: Notifier, status: str,
                      checks: Mapping[str, Callable[[], bool]] | None = None,
                      stop: threading.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set). Sends READY=1 once listening, keeps the
    watchdog fed from the loop, and STOPPING=1 on the way out."""
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    watchdog, pass_timeout = None, PASS_TIMEOUT_S
    if notifier.watchdog_s:
        watchdog = LivenessWatchdog(notifier, checks=checks)
        # An idle loop must still beat at least twice between two pings.
        pass_timeout = min(PASS_TIMEOUT_S, watchdog.interval_s / 2)
        watchdog.start()
    notifier.ready(status)
    socket_map = _socket_map(server)
    try:
        while not stop.is_set():
            server.asyncore.loop(timeout=pass_timeout, map=socket_map,
                                 use_poll=server.adj.asyncore_use_poll, count=1)
            if watchdog is not None:
                watchdog.beat()
    finally:
        notifier.stopping("stopping")
        if watchdog is not None:
            watchdog.stop()
        server.close()
        dispatcher = getattr(server, "task_dispatcher", None)
        if dispatcher is not None:
            dispatcher.shutdown()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
