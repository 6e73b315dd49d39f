"""A separate process that switches the solenoids off when the stimulator's process dies.

In-process safety (``finally``, signal handlers, ``atexit``) cannot run when the process is
killed with SIGKILL or crashes in C code. The stimulator therefore starts this guard as a
child process in its own session (so a Ctrl-C or a SIGTERM aimed at the box does not reach
it) and keeps the write end of a pipe to the guard's standard input. Nobody else holds that
end, so when the stimulator's process dies for any reason the kernel closes it and the guard's
read returns end-of-file at once. The guard then claims the solenoid lines and drives them
low. On a Raspberry Pi the kernel releases the dead process's GPIO line requests while it
tears the process down; until it has, a claim fails as busy, so the guard retries for up to
``CLAIM_DEADLINE_S``. A pull-down resistor on each MOSFET gate keeps the solenoid off while
no process drives the line at all (and if the guard itself is killed).

A clean shutdown writes ``QUIT`` before closing the pipe: the lines are already off, and the
guard leaves them alone (so it never fights a new stimulator for them).

Run as ``python -m device.hardware.solenoid_guard --pins 17 27 (--gpio | --pin-file PATH)``.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gpiozero.pins import Factory

READY = b"ready\n"
QUIT = b"q"
PARENT_POLL_S = 0.010  # backup check of the parent's pid, should a fork hold the pipe open
CLAIM_RETRY_S = 0.0005
CLAIM_DEADLINE_S = 2.0
START_TIMEOUT_S = 30.0


class GuardError(RuntimeError):
    """The guard could not be started."""


class SolenoidGuard:
    """The stimulator's handle on its guard process."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    @classmethod
    def start(cls, pins: Sequence[int], backend: Sequence[str]) -> SolenoidGuard:
        """Start a guard for ``pins``; ``backend`` is ``["--gpio"]`` or ``["--pin-file", P]``.

        Returns once the guard has its pin factory ready, so it can act without delay.
        """
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "device.hardware.solenoid_guard",
                   "--pins", *(str(p) for p in pins), *backend]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   env=env, start_new_session=True, close_fds=True)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        line = process.stdout.readline() if ready else b""
        if line != READY:
            process.kill()
            process.wait()
            raise GuardError(
                f"the solenoid guard did not start (exit code {process.returncode}); "
                "its messages are on standard error"
            )
        return cls(process)

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def release(self) -> None:
        """The lines are off and the stimulator is closing: let the guard exit untouched."""
        stdin = self._process.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.write(QUIT)
                stdin.close()
            except BrokenPipeError:
                pass
        self._process.wait(timeout=5.0)
        if self._process.stdout is not None:
            self._process.stdout.close()


def _wait_for_parent(fd: int, parent: int) -> bool:
    """Block until the parent quits cleanly (True) or is gone (False)."""
    while True:
        ready, _, _ = select.select([fd], [], [], PARENT_POLL_S)
        if ready:
            data = os.read(fd, 64)
            if not data:
                return False
            if QUIT in data:
                return True
        elif os.getppid() != parent:
            return False


def _drive_low(factory: Factory, pins: Sequence[int]) -> list[str]:
    """Claim each pin as an output at low level, retrying while the dead parent still holds it."""
    problems = []
    for number in pins:
        deadline = time.monotonic() + CLAIM_DEADLINE_S
        while True:
            try:
                factory.pin(number).output_with_state(False)
                break
            except Exception as exc:  # lgpio reports a busy line as lgpio.error
                if time.monotonic() > deadline:
                    problems.append(f"BCM {number}: {exc}")
                    break
                time.sleep(CLAIM_RETRY_S)
    return problems


def _open_factory(args: argparse.Namespace) -> Factory:
    if args.pin_file is not None:
        from device.hardware.shared_pins import SharedFilePinFactory

        return SharedFilePinFactory(args.pin_file)
    from gpiozero import Device

    Device.ensure_pin_factory()
    return Device.pin_factory


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="solenoid_guard", description=__doc__.split("\n")[0])
    parser.add_argument("--pins", type=int, nargs="+", required=True, help="BCM solenoid pins")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--gpio", action="store_true", help="the Pi's GPIO (gpiozero default)")
    where.add_argument("--pin-file", type=Path, help="shared mock pins (tests, simulation)")
    args = parser.parse_args(argv)
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, signal.SIG_IGN)  # outlive the parent: that is the point
    parent = os.getppid()
    factory = _open_factory(args)
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    if _wait_for_parent(sys.stdin.fileno(), parent):
        return 0
    problems = _drive_low(factory, args.pins)
    for problem in problems:
        print(f"solenoid guard: could not switch off {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
