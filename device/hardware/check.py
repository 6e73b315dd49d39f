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
        """One line: the device's name, ok or FAIL, what answered or what to check."""
        if self.ok:
            return f"{self.device}: ok: {self.detail}"
        return f"{self.device}: FAIL: {self.detail}" + (f"; check: {self.fix}" if self.fix else "")
