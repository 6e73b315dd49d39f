"""Page load and results-ready times of `dystonia-box serve` on simulated hardware, and the
serving process's peak memory, each beside a baseline from the same run.

    .venv/bin/python bench/appliance_bench.py [--models MODELDIR] [--requests 50]

Baselines: a static file from the same server (page load), `dystonia-box score` on the same
take files in one process (results ready), and an idle Python process that has imported
Flask and waitress (memory).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

PASSWORD = "a long enough secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.read().decode()

    def post(self, path: str, page: str, **fields: str) -> str:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, **fields}).encode()
        with self.opener.open(self.base + path, data=data, timeout=60) as r:
            return r.read().decode()


def timed_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="appliance-bench-"))
    config = work / "config.toml"
    config.write_text('[box]\nsimulate = "sim"\n'
                      + (f'[screening]\nmodels_dir = "{args.models}"\n' if args.models else ""))
    box = [sys.executable, "-m", "device", "--config", str(config), "--data-dir",
           str(work / "data")]
    subprocess.run([*box, "user", "add", "bench"], input=PASSWORD + "\n", text=True,
                   check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([*box, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        b = Browser(f"http://127.0.0.1:{port}")
        for _ in range(200):
            try:
                login = b.get("/login")
                break
            except OSError:
                time.sleep(0.05)
        b.post("/login", login, name="bench", password=PASSWORD)
        home = b.get("/")
        b.post("/patients", home, pseudonym="BENCH-1", sex="unknown", handedness="right",
               affected_side="unknown")
        patient = b.get("/patients/1")
        b.post("/patients/1/sessions", patient, protocol="quick")
        static_ms = timed_ms(lambda: b.get("/static/style.css"), args.requests)
        home_ms = timed_ms(lambda: b.get("/"), args.requests)
        session_ms = timed_ms(lambda: b.get("/sessions/1"), args.requests)
        recorded_at = 0.0
        for _ in range(16):
            page = b.get("/sessions/1")
            page = b.post("/sessions/1/record/start", page)
            b.post("/sessions/1/record/stop", page)
            recorded_at = time.perf_counter()
        while True:
            page = b.get("/sessions/1")
            if ">recorded<" not in page and ">processing<" not in page:
                break
            time.sleep(0.05)
        ready_s = time.perf_counter() - recorded_at
        serve_peak = peak_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    import sqlite3

    db = sqlite3.connect(work / "data" / "box.sqlite3")
    latencies = [r[0] for r in db.execute(
        "SELECT r.created - t.recorded FROM result r JOIN take t ON t.id = r.take_id")]
    db.close()
    takes = sorted((work / "data" / "recordings").rglob("*.take.npz"))
    start = time.perf_counter()
    subprocess.run([*box, "score", "--json", *map(str, takes)], check=True,
                   capture_output=True)
    score_s = time.perf_counter() - start
    idle = subprocess.Popen([sys.executable, "-c", "import flask, waitress, sys; "
                             "sys.stdin.read()"], stdin=subprocess.PIPE)
    time.sleep(1.0)
    idle_peak = peak_kib(idle.pid)
    idle.communicate(b"")
    print(f"page load, median of {args.requests}: patients {home_ms:.1f} ms, session "
          f"{session_ms:.1f} ms; baseline static file {static_ms:.1f} ms "
          f"(ratio {session_ms / static_ms:.1f}x)")
    print(f"each take's result ready after its recording: median "
          f"{statistics.median(latencies):.2f} s, max {max(latencies):.2f} s")
    print(f"results ready after the last take: {ready_s:.2f} s for 16 takes; baseline "
          f"`dystonia-box score` on the same files in one process {score_s:.2f} s "
          f"(ratio {ready_s / score_s:.2f}x)")
    print(f"peak memory of the serving process: {serve_peak / 1024:.0f} MiB; baseline idle "
          f"Python with Flask and waitress {idle_peak / 1024:.0f} MiB "
          f"(ratio {serve_peak / idle_peak:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
