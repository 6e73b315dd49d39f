"""The autoencoder's size, kept apart from TensorFlow so commands can parse options without
loading it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Architecture:
    width: int = 16  # channels of the first layer; deeper layers use multiples of it
    code_channels: int = 8  # channels of the bottleneck (8 x 7 x code_channels values)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


DEFAULT_ARCHITECTURE = Architecture()
