"""The sd_notify protocol, spoken directly (no libsystemd binding on the box's Python).

systemd passes ``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace) to a
``Type=notify`` service; the service sends datagrams such as ``READY=1``, ``STATUS=...``,
``WATCHDOG=1`` and ``STOPPING=1``. With ``WatchdogSec=`` set, systemd also passes
``WATCHDOG_USEC`` (and ``WATCHDOG_PID``) and kills and restarts the service when no
``WATCHDOG=1`` arrives in time.

:class:`LivenessWatchdog` pings only while the main loop proves it is alive: the loop calls
:meth:`LivenessWatchdog.beat` on every pass, and the pinging thread sends ``WATCHDOG=1`` only
if a beat arrived since its previous ping (and every extra check passes). A hung loop
therefore stops the pings and systemd restarts the service; a blind timer would keep a
hung box "alive" forever.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def socket_address(value: str) -> str | bytes:
    """The address to send to: ``@name`` means the abstract namespace (a leading NUL)."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


class Notifier:
    """Sends state lines to systemd; does nothing when not started by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET") or None
        self.watchdog_s = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send ``lines`` (``KEY=value``) in one datagram. True if it was sent."""
        if self.address is None:
            return False
        if any("\n" in line or "=" not in line for line in lines):
            raise ValueError(f"sd_notify lines must be single KEY=value lines, got {lines!r}")
        payload = "\n".join(lines).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            try:
                sock.sendto(payload, socket_address(self.address))
            except OSError as exc:
                log.warning("sd_notify to %s failed: %s", self.address, exc)
                return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog timeout in seconds, if it is meant for this process."""
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a whole number", usec)
        return None
    return value / 1e6 if value > 0 else None


class LivenessWatchdog(threading.Thread):
    """Pings ``WATCHDOG=1`` at half the watchdog timeout while the main loop beats.

    ``checks`` are further liveness conditions (e.g. "the processing worker thread is
    alive"); a failing check also withholds the ping, and its name goes to ``STATUS=``.
    """

    def __init__(self, notifier: Notifier, interval_s: float | None = None,
                 checks: Mapping[str, Callable[[], bool]] | None = None) -> None:
        super().__init__(name="systemd-watchdog", daemon=True)
        timeout = notifier.watchdog_s
        chosen = interval_s if interval_s is not None else (timeout / 2 if timeout else None)
        if chosen is None or chosen <= 0:
            raise ValueError("no watchdog interval: WATCHDOG_USEC is not set for this process")
        self.notifier, self.interval_s = notifier, chosen
        self.checks = dict(checks or {})
        self._beat = threading.Event()
        self._halt = threading.Event()
        self.pings = 0
        self.withheld = 0

    def beat(self) -> None:
        """Called by the main loop on every pass: "I am still turning"."""
        self._beat.set()

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.wait(self.interval_s):
            failed = [name for name, check in self.checks.items() if not _passes(check)]
            if failed:
                self.withheld += 1
                self.notifier.status(f"unhealthy: {', '.join(failed)}; watchdog pings withheld")
                continue
            if not self._beat.is_set():
                self.withheld += 1
                log.error("main loop made no progress for %.1f s; watchdog pings withheld",
                          self.interval_s)
                continue
            self._beat.clear()
            if self.notifier.watchdog():
                self.pings += 1


def _passes(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:  # a crashing check is a failing check, not a crashed watchdog
        log.exception("liveness check failed")
        return False
