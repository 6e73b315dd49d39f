"""PDF report speed: the explanation map as one embedded PNG against one <rect> per cell.

    .venv/bin/python bench/report_bench.py

Prints, from the same run: milliseconds for fpdf2 to embed one explanation map drawn as the
PNG grid the box uses, and as 768 <rect> cells (the baseline, the plain way to draw a
heat map in SVG); their ratio; and seconds to render a full-protocol report (11 tasks x 4
takes x 2 hands, hand-built results shaped like the scorer's).
"""

from __future__ import annotations

import io
import math
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from fpdf import FPDF

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device.reports import charts, pdf
from device.reports.model import hand_views
from tests import report_inputs


def rect_cells(svg: str, explanation: dict) -> str:
    """The same map with each cell a <rect> instead of the embedded PNG."""
    relative = charts.relative_finger_time(explanation)
    image = re.search(r'<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"[^>]*/>',
                      svg)
    x0, y0, width, height = (float(v) for v in image.groups())
    cell_w, cell_h = width / 128, height / len(charts.FINGERS)
    cells = []
    for r, finger in enumerate(charts.FINGERS):
        for c, value in enumerate(relative[finger]):
            level = ((math.log2(max(value, 1e-6)) - charts.MAP_LOW)
                     / (charts.MAP_HIGH - charts.MAP_LOW))
            cells.append(f'<rect x="{x0 + c * cell_w:.2f}" y="{y0 + r * cell_h:.2f}" '
                         f'width="{cell_w + 0.3:.2f}" height="{cell_h:.2f}" '
                         f'fill="{charts._ramp(level)}"/>')
    return svg.replace(image.group(0), "".join(cells))


def embed_ms(svg: str, repeat: int = 5) -> float:
    best = math.inf
    for i in range(repeat):
        doc = FPDF()
        doc.add_page()
        data = pdf.SVG_META.sub("", svg).replace("<rect", f"<!-- {i} --><rect", 1).encode()
        start = time.perf_counter()
        doc.image(io.BytesIO(data), x=10, y=10, w=100)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def full_protocol():
    """44 takes, each with its own randomly drawn finger x time errors (no two maps alike)."""
    base = report_inputs.session()
    rng = np.random.default_rng(1)
    takes = []
    for task in range(1, 12):
        for dynamics in ("pp", "ff"):
            for tempo in ("fixed", "fastest"):
                right = 0.0214 + 0.02 * rng.random()
                score = report_inputs.take_score(rng, task, 0.0212, right, "middle")
                takes.append(replace(base.takes[0], take_id=len(takes) + 1, task=task,
                                     dynamics=dynamics, tempo_mode=tempo, score=score,
                                     recorded=base.started + len(takes) * 60))
    return replace(base, takes=takes)


def main() -> int:
    report = report_inputs.session()
    take = next(t for t in report.takes if t.task == 4 and t.dynamics == "ff")
    explanation = hand_views(take.score)["right"].explanation
    svg = charts.explanation_map(explanation, take.score["details"]["window_s"], "map")
    png_ms = embed_ms(svg)
    rect_ms = embed_ms(rect_cells(svg, explanation))
    print(f"explanation map embed, PNG grid   : {png_ms:7.1f} ms")
    print(f"explanation map embed, <rect> cells (baseline): {rect_ms:7.1f} ms "
          f"(PNG grid is {rect_ms / png_ms:.1f}x faster)")
    full = full_protocol()
    start = time.perf_counter()
    document = pdf.render(full)
    seconds = time.perf_counter() - start
    hands = sum(1 for t in full.takes for h in hand_views(t.score).values() if h)
    print(f"full-protocol report: {len(full.takes)} takes, {hands} hands, "
          f"{len(document) / 1e6:.2f} MB, {seconds:.2f} s "
          f"(= {seconds / hands * 1000:.0f} ms per hand; baseline <rect> maps alone would "
          f"add {hands * (rect_ms - png_ms) / 1000:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
