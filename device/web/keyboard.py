"""What to play, as a picture: the keys of a task on a keyboard drawing (SVG), each key
marked with the finger that plays it (1 thumb .. 5 little), right hand blue, left orange."""

from __future__ import annotations

from html import escape

from device.protocol import FINGER_NAMES, Task

BLACK = {1, 3, 6, 8, 10}
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
WHITE_W, WHITE_H, BLACK_W, BLACK_H = 22, 110, 14, 68
RIGHT, LEFT = "#1f77b4", "#e8892b"  # colour-blind-safe blue and orange


def note_name(note: int) -> str:
    return f"{NAMES[note % 12]}{note // 12 - 1}"


def _white_index(note: int) -> int:
    octave, pc = divmod(note, 12)
    return octave * 7 + sum(1 for p in range(pc) if p not in BLACK)


def task_svg(task: Task) -> str:
    fingers: dict[tuple[int, str], set[int]] = {}
    for event in task.events:
        for notes, hand in ((event.right, "right"), (event.left, "left")):
            for note, finger in zip(notes, event.fingers, strict=True):
                fingers.setdefault((note, hand), set()).add(finger)
    notes = [n for n, _ in fingers]
    low, high = min(notes) - 2, max(notes) + 2
    while low % 12 in BLACK:
        low -= 1
    while high % 12 in BLACK:
        high += 1
    first = _white_index(low)
    width = (_white_index(high) - first + 1) * WHITE_W
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {WHITE_H + 30}" '
             f'role="img" class="keyboard" aria-labelledby="kbd-title">',
             f'<title id="kbd-title">Task {task.number}: keys and fingers, right hand blue, '
             'left hand orange</title>']

    def label(note: int, x: float, y: float, colour_text: str) -> None:
        for hand, colour in (("right", RIGHT), ("left", LEFT)):
            used = fingers.get((note, hand))
            if used:
                text = "/".join(str(f) for f in sorted(used))
                names = ", ".join(FINGER_NAMES[f - 1] for f in sorted(used))
                parts.append(f'<circle cx="{x}" cy="{y}" r="8" fill="{colour}">'
                             f'<title>{note_name(note)}: {hand} hand, {escape(names)}</title>'
                             '</circle>')
                parts.append(f'<text x="{x}" y="{y + 4}" font-size="10" text-anchor="middle" '
                             f'fill="{colour_text}">{text}</text>')
                y -= 20

    for note in range(low, high + 1):
        if note % 12 in BLACK:
            continue
        x = (_white_index(note) - first) * WHITE_W
        parts.append(f'<rect x="{x}" y="0" width="{WHITE_W}" height="{WHITE_H}" fill="#fff" '
                     'stroke="#333"/>')
        if note % 12 == 0:
            parts.append(f'<text x="{x + WHITE_W / 2}" y="{WHITE_H + 14}" font-size="10" '
                         f'text-anchor="middle">{note_name(note)}</text>')
    for note in range(low, high + 1):
        if note % 12 in BLACK:
            x = (_white_index(note) - first) * WHITE_W - BLACK_W / 2
            parts.append(f'<rect x="{x}" y="0" width="{BLACK_W}" height="{BLACK_H}" '
                         'fill="#222"/>')
    for note in range(low, high + 1):
        if note % 12 in BLACK:
            x = (_white_index(note) - first) * WHITE_W
            label(note, x, BLACK_H - 12, "#fff")
        else:
            x = (_white_index(note) - first) * WHITE_W + WHITE_W / 2
            label(note, x, WHITE_H - 12, "#fff")
    parts.append("</svg>")
    return "".join(parts)


def sequence_text(task: Task) -> list[str]:
    """The order of play, one line per note or chord of one pass."""
    lines = []
    for i, event in enumerate(task.events, 1):
        right = "+".join(note_name(n) for n in event.right)
        left = "+".join(note_name(n) for n in event.left)
        who = ", ".join(FINGER_NAMES[f - 1] for f in event.fingers)
        lines.append(f"{i}. right {right}, left {left}: {who}")
    return lines
