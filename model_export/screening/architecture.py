"""The autoencoder's size, kept apart from TensorFlow so commands can parse options without
loading it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Architecture:
    width: int = 16  # channels of the first layer; deeper layers use multiples of it
    code_channels: int = 8  # channels of the bottleneck (8 x 7 x code_channels values)
    # the model sees the hand minus its task's mean training hand and adds it back, so the
    # convolutions learn how hands differ from the passage's typical movement rather than
    # the movement itself (docs/screening.md; tried, not the default)
    centred: bool = False

    def as_card(self) -> dict[str, Any]:
        """The card's ``architecture``: what it is in words, then the fields."""
        kind = "convolutional autoencoder, 7 + 7 conv layers"
        if self.centred:
            kind += ", on the hand minus the task's mean training hand"
        return {"kind": kind, **asdict(self)}

    @classmethod
    def from_card(cls, entry: dict[str, Any]) -> Architecture:
        """The architecture a card records; cards from before centring have no ``centred``."""
        return cls(int(entry["width"]), int(entry["code_channels"]),
                   bool(entry.get("centred", False)))


DEFAULT_ARCHITECTURE = Architecture()
