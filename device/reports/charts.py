"""Server-side SVG charts for a clinician: plain strings, no script, no external assets.

Colours come from the Okabe-Ito palette (distinguishable with every common colour-vision
deficiency) and a light-to-dark yellow-orange-red ramp whose lightness falls steadily, so
the map also reads in grey. Every chart carries <title> and <desc> for screen readers.

The healthy distribution is drawn as a normal curve from the card's validation error mean
and SD: the threshold itself is defined as mean + 2 SD, i.e. on the normal assumption, and
with a handful of validation hands a log-normal fit would add a parameter the data cannot
support.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from device.reports.model import EarlierSession, TaskNorm

BLUE, ORANGE, VERMILLION, SKY, GREEN, YELLOW, PURPLE, BLACK = (
    "#0072B2", "#E69F00", "#D55E00", "#56B4E9", "#009E73", "#F0E442", "#CC79A7", "#000000")
SERIES = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, "#999999")
RAMP = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")
FINGERS = ("wrist", "thumb", "index", "middle", "ring", "little")
FONT = 'font-family="Helvetica, Arial, sans-serif"'
OFF_SCALE_Z = 12.0  # beyond this many SD the patient's mark sits at the edge, labelled


def _grid_png(colours: list[list[str]], cell_w: int, cell_h: int) -> str:
    """A base64 PNG with one ``cell_w`` x ``cell_h`` pixel block per cell.

    One image instead of hundreds of <rect>s keeps the map quick to draw in a browser and
    ~20x quicker to embed in the PDF; the blocks keep cell edges sharp when scaled.
    """
    raw = bytearray()
    for row in colours:
        line = b"".join(bytes.fromhex(c[1:]) * cell_w for c in row)
        for _ in range(cell_h):
            raw += b"\x00" + line
    height, width = len(colours) * cell_h, len(colours[0]) * cell_w

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode("ascii")


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" {FONT}>'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start",
          weight: str = "normal", fill: str = BLACK, rotate: bool = False) -> str:
    transform = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{transform}>{escape(text)}</text>')


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = BLACK, width: float = 1,
          dash: str = "") -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}"{dashed}/>')


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * step:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def score_chart(error: float, norm: TaskNorm, title: str) -> str:
    """A hand's reconstruction error against the task's healthy validation distribution."""
    width, height = 400, 250
    left, right, top, bottom = 34, 14, 34, 66
    mean, sd = norm.validation_error_mean, max(norm.validation_error_sd, 1e-12)
    z = (error - mean) / sd
    low = max(0.0, mean - 4 * sd)
    high = max(mean + 4 * sd, norm.threshold + sd,
               min(error, mean + OFF_SCALE_Z * sd) + 0.5 * sd)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(value: float) -> float:
        return left + (value - low) / (high - low) * plot_w

    peak = 1.0 / (sd * math.sqrt(2 * math.pi))

    def py(density: float) -> float:
        return top + plot_h - density / peak * plot_h * 0.75

    points = []
    for i in range(121):
        value = low + (high - low) * i / 120
        density = peak * math.exp(-0.5 * ((value - mean) / sd) ** 2)
        points.append(f"{px(value):.1f},{py(density):.1f}")
    base = top + plot_h
    body = [_text(width / 2, 18, title, 14, "middle", "bold")]
    body.append(f'<polygon points="{px(low):.1f},{base:.1f} {" ".join(points)} '
                f'{px(high):.1f},{base:.1f}" fill="{SKY}" fill-opacity="0.35" stroke="{BLUE}" '
                'stroke-width="1.5"/>')
    body.append(_line(left, base, left + plot_w, base))
    for tick in _nice_ticks(low, high, 4):
        body.append(_line(px(tick), base, px(tick), base + 4))
        body.append(_text(px(tick), base + 16, _fmt(tick), 11, "middle"))
    body.append(_text(left + plot_w / 2, base + 32, "reconstruction-error score", 12,
                      "middle"))
    body.append(_text(14, top + plot_h / 2, "healthy hands", 12, "middle", rotate=True))
    tx = px(norm.threshold)
    body.append(_line(tx, top + 22, tx, base, BLACK, 1.5, "5,3"))
    body.append(_text(tx - 4, base - 6, "threshold", 11, "end"))
    abnormal = error > norm.threshold
    colour = VERMILLION if abnormal else BLUE
    verdict = "abnormal" if abnormal else "normal"
    mx = px(min(error, high))
    body.append(_line(mx, top + 6, mx, base, colour, 3))
    body.append(f'<circle cx="{mx:.1f}" cy="{top + 6:.1f}" r="5" fill="{colour}"/>')
    if error > high:
        detail = f"off scale: {z:.0f} SD above healthy >>"
    else:
        detail = f"{error / norm.threshold:.2f} x threshold"
    anchor, dx = ("end", -8) if mx > left + plot_w / 2 else ("start", 8)
    body.append(_text(mx + dx, top + 10, f"this hand: {verdict}", 13, anchor, "bold", colour))
    body.append(_text(mx + dx, top + 25, f"{_fmt(error)}, {detail}", 11, anchor, "normal",
                      colour))
    legend = height - 12
    body.append(f'<rect x="{left}" y="{legend - 9}" width="12" height="10" fill="{SKY}" '
                f'fill-opacity="0.35" stroke="{BLUE}"/>')
    body.append(_text(left + 16, legend, "healthy (normal fit)", 11))
    body.append(_line(left + 140, legend - 4, left + 160, legend - 4, BLACK, 1.5, "5,3"))
    body.append(_text(left + 164, legend, "mean + 2 SD", 11))
    body.append(_line(left + 250, legend - 4, left + 270, legend - 4, colour, 3))
    body.append(_text(left + 274, legend, "this hand", 11))
    desc = (f"Healthy validation error: mean {_fmt(mean)}, SD {_fmt(sd)}; threshold "
            f"{_fmt(norm.threshold)}. This hand's error is {_fmt(error)}, {z:.1f} SD from the "
            f"healthy mean: {verdict}.")
    return _svg(width, height, title, desc, body)


def _ramp(fraction: float) -> str:
    fraction = min(max(fraction, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(fraction), len(RAMP) - 2)
    t = fraction - i
    a, b = RAMP[i], RAMP[i + 1]
    mixed = [round(int(a[k:k + 2], 16) * (1 - t) + int(b[k:k + 2], 16) * t) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in mixed)


MAP_LOW, MAP_HIGH = -1.0, 4.0  # log2 of "times healthy": 0.5x .. 16x


def relative_finger_time(explanation: dict[str, Any]) -> dict[str, list[float]]:
    """Each cell's error in multiples of that finger's healthy error per step.

    ``finger_ratio`` is the finger's mean error over the healthy mean, so the healthy error
    per step is ``mean(row) / ratio`` and a cell is ``ratio * value / mean(row)``.
    """
    out = {}
    for finger in FINGERS:
        row = [float(v) for v in explanation["finger_time"][finger]]
        ratio = float(explanation["finger_ratio"][finger])
        mean = sum(row) / len(row)
        out[finger] = [ratio * v / mean if mean > 0 else 0.0 for v in row]
    return out


def explanation_map(explanation: dict[str, Any], window_s: Sequence[float] | None,
                    title: str) -> str:
    """Fingers x time, colour = error relative to healthy; worst finger and moment outlined."""
    relative = relative_finger_time(explanation)
    n = len(relative[FINGERS[0]])
    width, height = 480, 270
    left, right, top, cell_h = 58, 48, 40, 20
    plot_w, plot_h = width - left - right, cell_h * len(FINGERS)
    cell_w = plot_w / n
    worst = explanation.get("worst_finger")
    body = [_text(width / 2, 18, title, 14, "middle", "bold")]
    grid = [[_ramp((math.log2(max(value, 1e-6)) - MAP_LOW) / (MAP_HIGH - MAP_LOW))
             for value in relative[finger]] for finger in FINGERS]
    body.append(f'<image x="{left}" y="{top}" width="{plot_w:.1f}" height="{plot_h}" '
                f'image-rendering="optimizeSpeed" preserveAspectRatio="none" '
                f'xlink:href="data:image/png;base64,{_grid_png(grid, 4, cell_h)}"/>')
    body.append(_text(width - 2, top - 5, "x healthy", 10, "end"))
    worst_curl = (explanation.get("score_ratio") or {}).get(worst)
    if worst_curl is not None:  # the curl score's share in naming the finger (explain.py)
        body.append(_text(left, top - 5, f"{worst}: curl {float(worst_curl):.1f}x healthy",
                          10))
    for r, finger in enumerate(FINGERS):
        y = top + r * cell_h + 14
        weight = "bold" if finger == worst else "normal"
        ratio = float(explanation["finger_ratio"][finger])
        body.append(_text(left - 5, y, finger, 12, "end", weight))
        body.append(_text(left + plot_w + 4, y, f"{ratio:.1f}x", 12, weight=weight))
    body.append(f'<rect x="{left}" y="{top}" width="{plot_w:.1f}" height="{plot_h}" '
                f'fill="none" stroke="{BLACK}"/>')
    fraction = explanation.get("worst_window_fraction")
    if worst in FINGERS and fraction:
        r = FINGERS.index(worst)
        x0 = left + float(fraction[0]) * (n - 1) * cell_w
        x1 = left + (float(fraction[1]) * (n - 1) + 1) * cell_w
        body.append(f'<rect x="{x0:.1f}" y="{top + r * cell_h - 2}" width="{x1 - x0:.1f}" '
                    f'height="{cell_h + 4}" fill="none" stroke="{BLUE}" stroke-width="3"/>')
    base = top + plot_h
    if window_s:
        start, end = float(window_s[0]), float(window_s[1])
        ticks = [(left + (t - start) / (end - start) * plot_w, f"{t:g}")
                 for t in _nice_ticks(start, end, 6)]
        axis = "time in the take (s)"
    else:
        ticks = [(left + pct / 100 * plot_w, str(pct)) for pct in (0, 25, 50, 75, 100)]
        axis = "time (% of the analysed passage)"
    for x, label in ticks:
        body.append(_line(x, base, x, base + 4))
        body.append(_text(x, base + 16, label, 11, "middle"))
    body.append(_text(left + plot_w / 2, base + 32, axis, 12, "middle"))
    legend_y = base + 44
    body.append(_text(left - 5, legend_y + 10, "error", 11, "end"))
    for i in range(40):
        body.append(f'<rect x="{left + i * 5}" y="{legend_y}" width="5.3" height="12" '
                    f'fill="{_ramp(i / 39)}"/>')
    for label, log2 in (("0.5x", -1), ("1x", 0), ("2x", 1), ("4x", 2), ("16x+", 4)):
        x = left + (log2 - MAP_LOW) / (MAP_HIGH - MAP_LOW) * 200
        body.append(_text(x, legend_y + 24, label, 10, "middle"))
    body.append(_text(left + 206, legend_y + 10, "times the healthy error", 11))
    body.append(f'<rect x="{left}" y="{legend_y + 34}" width="18" height="12" fill="none" '
                f'stroke="{BLUE}" stroke-width="3"/>')
    body.append(_text(left + 24, legend_y + 44, "most unusual finger and moment", 11))
    desc = "Reconstruction error per finger over time, relative to healthy hands."
    if worst in FINGERS:
        window = explanation.get("worst_window_s")
        when = (f" between {window[0]:.1f} and {window[1]:.1f} s" if window else "")
        ratio = float(explanation["finger_ratio"][worst])
        also = (f", its curl {float(worst_curl):.1f} times healthy"
                if worst_curl is not None else "")
        desc += (f" The {worst} deviated most ({ratio:.1f} times its healthy error{also})"
                 f"{when}.")
    return _svg(width, height, title, desc, body)


def _date(started: float) -> str:
    return datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d")


def followup_chart(visits: Sequence[EarlierSession], title: str = "Follow-up over visits") \
        -> str:
    """Severity index (error / threshold, worst hand) per task over visits; 1 = threshold."""
    visits = sorted(visits, key=lambda v: v.started)
    tasks = sorted({task for v in visits for task in v.severities})
    width, height = 620, 300
    left, right, top, bottom = 56, 90, 36, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1.5, *(s for v in visits for s in v.severities.values())]) * 1.1
    top_value = _nice_ticks(0, peak)[-1]
    top_value = top_value if top_value >= peak else top_value + (_nice_ticks(0, peak)[1])

    first, span = visits[0].started, visits[-1].started - visits[0].started

    def px(i: int) -> float:  # proportional to time, so uneven gaps between visits show
        return left + ((visits[i].started - first) / span * plot_w if span > 0 else plot_w / 2)

    def py(value: float) -> float:
        return top + plot_h - value / top_value * plot_h

    base = top + plot_h
    body = [_text(width / 2, 20, title, 13, "middle", "bold")]
    body.append(f'<rect x="{left}" y="{py(top_value):.1f}" width="{plot_w}" '
                f'height="{py(1.0) - py(top_value):.1f}" fill="{ORANGE}" fill-opacity="0.12"/>')
    body.append(_line(left, base, left + plot_w, base))
    body.append(_line(left, top, left, base))
    for tick in _nice_ticks(0, top_value):
        body.append(_line(left - 4, py(tick), left, py(tick)))
        body.append(_text(left - 7, py(tick) + 4, f"{tick:g}", 10, "end"))
    body.append(_line(left, py(1.0), left + plot_w, py(1.0), BLACK, 1.5, "5,3"))
    body.append(_text(left + 4, py(1.0) + 12, "threshold", 10))
    body.append(_text(left + 4, py(top_value) + 12, "above the threshold: abnormal", 10,
                      fill="#7a4a00"))
    for i, visit in enumerate(visits):
        body.append(_line(px(i), base, px(i), base + 4))
        body.append(_text(px(i), base + 16, _date(visit.started), 10, "middle"))
    body.append(_text(left + plot_w / 2, base + 34, "session date", 11, "middle"))
    body.append(_text(16, top + plot_h / 2, "severity (error / threshold)", 11, "middle",
                      rotate=True))
    shapes = ("circle", "square", "triangle")
    ends: list[tuple[float, float, int, str]] = []
    for k, task in enumerate(tasks):
        colour = SERIES[k % len(SERIES)]
        shape = shapes[(k // len(SERIES)) % len(shapes)]
        pts = [(px(i), py(v.severities[task])) for i, v in enumerate(visits)
               if task in v.severities]
        if len(pts) > 1:
            body.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}" '
                        f'fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in pts:
            body.append(_marker(shape, x, y, colour))
        ends.append((pts[-1][1], pts[-1][0], task, colour))
    body.extend(_end_labels(ends))
    desc = "; ".join(
        f"task {task}: " + ", ".join(f"{_date(v.started)} {v.severities[task]:.2f}"
                                     for v in visits if task in v.severities)
        for task in tasks) + ". Severity above 1 is above the healthy threshold."
    return _svg(width, height, title, desc, body)


def _end_labels(ends: list[tuple[float, float, int, str]], gap: float = 12.0) -> list[str]:
    """"task N" beside each line's last point, pushed apart so no two labels overlap."""
    out, last_y = [], -math.inf
    for y, x, task, colour in sorted(ends):
        y = max(y, last_y + gap)
        last_y = y
        out.append(_text(x + 8, y + 4, f"task {task}", 10, fill=colour, weight="bold"))
    return out


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if shape == "triangle":
        return (f'<polygon points="{x:.1f},{y - 5:.1f} {x - 5:.1f},{y + 4:.1f} '
                f'{x + 5:.1f},{y + 4:.1f}" fill="{colour}"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'
