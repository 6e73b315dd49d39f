"""What a self-test found about one device, in words a technician can act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    device: str  # "force cell (index)", "IMU (hand dorsum)", "key bar", ...
    ok: bool
    detail: str  # what answered, or what went wrong
    fix: str = ""  # the likely fix when not ok

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark} {self.device}: {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n     fix: {self.fix}"
