"""The sd_notify protocol on a real AF_UNIX datagram socket, standing in for systemd: READY,
STATUS, STOPPING, and WATCHDOG pings that flow while the main loop turns and stop when it
hangs (which is what makes systemd's WatchdogSec restart a hung box)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import uuid

import pytest

from device.maintenance import shutdowns
from device.systemd_notify import LivenessWatchdog, Notifier, socket_address

WAIT_S = 30.0  # a generous bound for something that should happen at once; never asserted


@pytest.fixture
def systemd_socket(tmp_path):
    """A bound datagram socket, as systemd's notify socket is; yields (socket, NOTIFY_SOCKET)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(WAIT_S)
    yield sock, str(path)
    sock.close()


def receive(sock) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def drain(sock) -> list[list[str]]:
    sock.setblocking(False)
    out = []
    try:
        while True:
            out.append(sock.recv(4096).decode().split("\n"))
    except BlockingIOError:
        return out
    finally:
        sock.settimeout(WAIT_S)


def test_ready_status_stopping_reach_the_socket(systemd_socket):
    sock, address = systemd_socket
    notifier = Notifier({"NOTIFY_SOCKET": address})
    assert notifier.ready("serving on 127.0.0.1:8080")
    assert receive(sock) == ["READY=1", "STATUS=serving on 127.0.0.1:8080"]
    notifier.status("recording task 4")
    assert receive(sock) == ["STATUS=recording task 4"]
    notifier.stopping()
    assert receive(sock) == ["STOPPING=1"]


def test_abstract_namespace_socket():
    name = f"dystonia-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(WAIT_S)
        assert socket_address(f"@{name}") == b"\0" + name.encode()
        assert Notifier({"NOTIFY_SOCKET": f"@{name}"}).watchdog()
        assert receive(sock) == ["WATCHDOG=1"]


def test_without_systemd_nothing_is_sent_and_no_watchdog():
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready() is False
    with pytest.raises(ValueError, match="WATCHDOG_USEC is not set"):
        LivenessWatchdog(notifier)


def test_watchdog_interval_is_half_the_timeout_and_only_for_this_process():
    assert Notifier({"WATCHDOG_USEC": "20000000"}).watchdog_s == 20.0
    assert LivenessWatchdog(Notifier({"WATCHDOG_USEC": "20000000"})).interval_s == 10.0
    assert Notifier({"WATCHDOG_USEC": "20000000",
                     "WATCHDOG_PID": str(os.getpid())}).watchdog_s == 20.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}).watchdog_s is None
    assert Notifier({"WATCHDOG_USEC": "soon"}).watchdog_s is None


def test_a_line_that_is_not_key_value_is_refused(systemd_socket):
    _, address = systemd_socket
    with pytest.raises(ValueError, match="KEY=value"):
        Notifier({"NOTIFY_SOCKET": address}).notify("READY=1\nWATCHDOG=1")


def _wait_for(predicate) -> None:
    done = threading.Event()
    for _ in range(int(WAIT_S / 0.01)):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")


def test_pings_flow_while_the_loop_turns_and_stop_when_it_hangs(systemd_socket):
    sock, address = systemd_socket
    notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "40000"})
    watchdog = LivenessWatchdog(notifier)  # pings every 20 ms while the loop beats
    hang, stop = threading.Event(), threading.Event()

    def main_loop():
        while not stop.is_set():
            if not hang.is_set():
                watchdog.beat()
            stop.wait(0.002)

    loop = threading.Thread(target=main_loop, daemon=True)
    loop.start()
    watchdog.start()
    try:
        for _ in range(3):  # alive: pings arrive on the socket
            assert receive(sock) == ["WATCHDOG=1"]
        hang.set()
        _wait_for(lambda: watchdog.withheld >= 1)
        pings_when_hung = watchdog.pings
        _wait_for(lambda: watchdog.withheld >= 5)
        assert watchdog.pings == pings_when_hung  # four more rounds, not one ping
        received = 3 + len(drain(sock))
        assert received == pings_when_hung  # every counted ping really went out, no more
        hang.clear()  # the loop recovers: pings resume
        assert receive(sock) == ["WATCHDOG=1"]
    finally:
        stop.set()
        watchdog.stop()
        loop.join()
        watchdog.join()


def test_a_failing_liveness_check_withholds_pings_and_says_why(systemd_socket):
    sock, address = systemd_socket
    notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "40000"})
    worker_alive = threading.Event()
    watchdog = LivenessWatchdog(notifier, checks={"processing worker": worker_alive.is_set})
    watchdog.beat()
    watchdog.start()
    try:
        assert receive(sock) == ["STATUS=unhealthy: processing worker; watchdog pings withheld"]
        worker_alive.set()
        while (line := receive(sock)) != ["WATCHDOG=1"]:
            assert line[0].startswith("STATUS=unhealthy")
    finally:
        watchdog.stop()
        watchdog.join()


def _serve(tmp_path, address, port):
    config = tmp_path / "config.toml"
    config.write_text('[box]\nsimulate = "sim"\n')
    env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "200000"}
    return subprocess.Popen(
        [sys.executable, "-m", "device", "--config", str(config), "--data-dir",
         str(tmp_path / "data"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_speaks_the_protocol_and_counts_an_unclean_stop(tmp_path, systemd_socket):
    sock, address = systemd_socket
    data = tmp_path / "data"
    proc = _serve(tmp_path, address, _free_port())
    try:
        ready = receive(sock)
        assert ready[0] == "READY=1" and ready[1].startswith("STATUS=serving on 127.0.0.1:")
        assert receive(sock) == ["WATCHDOG=1"]
        assert receive(sock) == ["WATCHDOG=1"]
        assert (data / shutdowns.MARKER_FILE).exists()
        proc.send_signal(signal.SIGTERM)
        while (line := receive(sock)) == ["WATCHDOG=1"]:
            pass
        assert line == ["STOPPING=1", "STATUS=stopping"]
        assert proc.wait(timeout=WAIT_S) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert not (data / shutdowns.MARKER_FILE).exists()
    assert shutdowns.unclean_shutdowns(data).count == 0

    proc = _serve(tmp_path, address, _free_port())  # killed hard: an unclean stop
    try:
        assert receive(sock)[0] == "READY=1"
    finally:
        proc.kill()
        proc.wait()
    drain(sock)
    proc = _serve(tmp_path, address, _free_port())
    try:
        assert receive(sock)[0] == "READY=1"
        assert shutdowns.unclean_shutdowns(data).count == 1
    finally:
        proc.terminate()
        proc.wait(timeout=WAIT_S)
