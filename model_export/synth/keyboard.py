"""Geometry of a standard 88-key piano keyboard, in metres.

World frame: x along the keyboard from low to high pitch (0 at the centre of C4's key),
y away from the player (0 at the front edge of the white keys), z up (0 at the top surface
of a white key at rest). The black/white pattern is laid out symmetrically about G#3 (56),
so the protocol's mirror-image left-hand notes (112 - right) sit at mirror-image places.
"""

from __future__ import annotations

import numpy as np

WHITE_WIDTH = 0.0235  # 7 white keys per 164.5 mm octave
WHITE_LENGTH = 0.150
BLACK_WIDTH = 0.0137
BLACK_LENGTH = 0.095
BLACK_HEIGHT = 0.012  # top of a black key above a white key's top
KEY_DIP = 0.010  # how far a key travels down
WHITE_STRIKE_Y = 0.045  # where a fingertip usually meets a white key
BLACK_STRIKE_Y = 0.115  # ... and a black key (black keys span y 0.055..0.150)
MIRROR_NOTE = 56
# long fingers strike deeper into the key than the thumb and the little finger
DIGIT_DEPTH = (-0.018, 0.004, 0.012, 0.008, -0.008)

_BLACK_PITCH_CLASSES = (1, 3, 6, 8, 10)
_WHITE_INDEX_IN_OCTAVE = {0: 0, 2: 1, 4: 2, 5: 3, 7: 4, 9: 5, 11: 6}


def is_black(note: int | np.ndarray) -> np.ndarray:
    return np.isin(np.asarray(note) % 12, _BLACK_PITCH_CLASSES)


def _white_position(note: int) -> float:
    """Position of a white key (in white-key widths) counted from C4 = 0."""
    octave, pitch_class = divmod(note - 60, 12)
    return 7 * octave + _WHITE_INDEX_IN_OCTAVE[pitch_class]


def _centre(note: int) -> float:
    if note % 12 in _BLACK_PITCH_CLASSES:
        return (_white_position(note - 1) + 0.5) * WHITE_WIDTH
    return _white_position(note) * WHITE_WIDTH


_CENTRES = np.array([_centre(n) for n in range(128)])


def key_x(note: int | np.ndarray) -> np.ndarray:
    """Centre of each key along the keyboard; a black key sits on the line between its
    two white neighbours."""
    return _CENTRES[np.asarray(note, dtype=int)]


def strike_point(note: int | np.ndarray, digit: int | np.ndarray | None = None) -> np.ndarray:
    """(..., 3): where a fingertip meets the key at rest (top surface, the usual depth for
    that digit, 0 thumb .. 4 little; a middle depth when ``digit`` is None)."""
    black = is_black(note)
    depth = 0.0 if digit is None else np.asarray(DIGIT_DEPTH)[np.asarray(digit)]
    return np.stack(
        [key_x(note), np.where(black, BLACK_STRIKE_Y, WHITE_STRIKE_Y) + depth,
         np.where(black, BLACK_HEIGHT, 0.0)], axis=-1,
    )


def surface_height(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Height of the keyboard's top at rest under points (x, y): a black key's top where one
    is, otherwise a white key's top (z = 0)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    white_index = np.floor(x / WHITE_WIDTH + 0.5)  # nearest white key centre
    boundary = (white_index + 0.5) * WHITE_WIDTH  # the line between it and the next
    near = np.where(x > white_index * WHITE_WIDTH, boundary, boundary - WHITE_WIDTH)
    # a black key sits on the line above white key w (C, D, F, G, A: indices 0, 1, 3, 4, 5)
    left_white = np.where(x > white_index * WHITE_WIDTH, white_index, white_index - 1)
    has_black = np.isin(np.mod(left_white, 7), (0, 1, 3, 4, 5))
    over_black = has_black & (np.abs(x - near) < BLACK_WIDTH / 2) \
        & (y > WHITE_LENGTH - BLACK_LENGTH) & (y < WHITE_LENGTH)
    return np.where(over_black, BLACK_HEIGHT, 0.0)
