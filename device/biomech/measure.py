"""One computed value with everything needed to trust it, recompute it and show it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Measure:
    """``value`` is ``None`` when it cannot be computed; ``note`` then says why.

    ``flags`` name conditions a reader must know (``clipped``, ``target_not_reached``,
    ``long_interval``, ...); ``source`` is the digest of the recording it came from and
    ``params`` the keyword arguments of the computation, so that
    ``recompute(measure, recording)`` gives the same value.
    """

    measure: str
    finger: str
    value: float | None
    unit: str
    source: str
    flags: tuple[str, ...] = ()
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.value is not None and math.isfinite(self.value)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["flags"] = list(self.flags)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measure:
        return cls(**{**d, "flags": tuple(d.get("flags", ()))})
