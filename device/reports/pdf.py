"""The session's PDF report (fpdf2): header, summary, per take and hand the verdict with its
two charts, the follow-up chart, provenance and page number in every footer.

The charts are the same SVG the web page shows, embedded with fpdf2's SVG support. fpdf2's
built-in fonts cover Latin-1 only, so text is folded into it (a dash becomes "-").
"""

from __future__ import annotations

import io
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from device.atomic import write_bytes
from device.reports import charts
from device.reports.model import (
    NOT_FOR_CLINICAL_USE,
    EarlierSession,
    SessionReport,
    TakeResult,
    hand_views,
    key_timing_sentence,
    worst_severity_per_task,
)
from device.reports.summary import LOUDNESS, TEMPO, summarise, task_name

# fpdf2 warns once per embedded chart that it ignores preserveAspectRatio on <image>; our
# PNG grids are drawn at their own aspect ratio, so the warning says nothing to a user.
logging.getLogger("fpdf.svg").setLevel(logging.ERROR)

FOLD = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
                      "\u201c": '"', "\u201d": '"', "\u2264": "<=", "\u2265": ">=",
                      "\u2192": "->", "\u2026": "..."})
SVG_META = re.compile(r"<title>.*?</title><desc>.*?</desc>", re.DOTALL)


def latin1(text: str) -> str:
    return text.translate(FOLD).encode("latin-1", "replace").decode("latin-1")


def _date(seconds: float, with_time: bool = False) -> str:
    stamp = datetime.fromtimestamp(seconds, UTC)
    return stamp.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


class ReportDocument(FPDF):
    def __init__(self, footer_line: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_line = latin1(footer_line)
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(auto=True, margin=20)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(60, 60, 60)
        self.cell(0, 4, self.footer_line, align="L", new_x="LMARGIN", new_y="NEXT")
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str, size: int = 13) -> None:
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.5, latin1(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def paragraph(self, text: str, style: str = "") -> None:
        self.set_font("Helvetica", style, 10)
        self.multi_cell(0, 5, latin1(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)

    def svg(self, svg: str, x: float, y: float, width: float) -> float:
        """Embed an SVG chart; returns its height in mm."""
        info = self.image(io.BytesIO(SVG_META.sub("", svg).encode()), x=x, y=y, w=width)
        return float(info.rendered_height)


def _header(doc: ReportDocument, report: SessionReport) -> None:
    doc.heading("Dystonia screening report", 16)
    rows = (("Box", report.box_name), ("Patient (pseudonym)", report.patient_pseudonym),
            ("Year of birth", str(report.year_of_birth or "not recorded")),
            ("Session", f"{report.session_id}, {_date(report.started, with_time=True)}"),
            ("Clinician", report.clinician or "not recorded"),
            ("Protocol", {"full": "full (all eleven tasks)",
                          "quick": "quick screen"}.get(report.protocol, report.protocol)))
    for label, value in rows:
        doc.set_font("Helvetica", "B", 10)
        doc.cell(45, 5.5, latin1(label))
        doc.set_font("Helvetica", "", 10)
        doc.cell(0, 5.5, latin1(value), new_x="LMARGIN", new_y="NEXT")
    if report.card is not None and not report.card.clinical_use:
        doc.ln(2)
        doc.set_text_color(170, 60, 0)
        doc.paragraph(NOT_FOR_CLINICAL_USE + ".", "B")
        doc.set_text_color(0, 0, 0)
    doc.ln(2)


def _summary(doc: ReportDocument, report: SessionReport) -> None:
    summary = summarise(report)
    doc.heading("Summary")
    doc.paragraph(summary.headline, "B")
    for section in (summary.findings, summary.without_keys, summary.unscored,
                    summary.biomechanics, summary.tojt):
        for line in section:
            doc.paragraph(line, "B" if line.endswith(":") else "")
    doc.paragraph(summary.provenance)
    doc.paragraph(summary.caveat, "I")


def _take_order(take: TakeResult) -> tuple:
    return (take.task, list(LOUDNESS).index(take.dynamics) if take.dynamics in LOUDNESS else 9,
            take.tempo_mode, take.recorded)


HAND_BLOCK_MM = 72.0  # verdict and key timing lines and the taller of the two charts


def _takes(doc: ReportDocument, report: SessionReport) -> None:
    doc.add_page()
    doc.heading("Results per task and hand")
    for take in sorted(report.takes, key=_take_order):
        title = (f"{task_name(take.task)[:1].upper()}{task_name(take.task)[1:]}, "
                 f"{LOUDNESS.get(take.dynamics, take.dynamics)} "
                 f"{TEMPO.get(take.tempo_mode, take.tempo_mode)}")
        views = hand_views(take.score)
        if doc.get_y() + 12 + (HAND_BLOCK_MM if views else 0) > doc.page_break_trigger:
            doc.add_page()
        doc.heading(title, 11)
        if take.score is None:
            doc.paragraph(f"Not scored (status: {take.status}).")
            continue
        reasons = take.score.get("reasons", {})
        key_timing = take.score.get("key_timing", {})
        for hand, view in views.items():
            keys = key_timing_sentence(hand, key_timing.get(hand))
            if view is None:
                doc.paragraph(f"{hand.capitalize()} hand: could not be scored "
                              f"({reasons.get(hand, 'no reason given')}).")
                if keys:
                    doc.paragraph(keys[0], "B" if keys[1] else "")
                continue
            if doc.get_y() + HAND_BLOCK_MM > doc.page_break_trigger:
                doc.add_page()
                doc.heading(f"{title} (continued)", 11)
            verdict = "ABNORMAL" if view.abnormal else "normal"
            doc.paragraph(f"{hand.capitalize()} hand: {verdict}; severity {view.severity:.2f} "
                          f"(error {view.error:.4g}, threshold {view.threshold:.4g}).",
                          "B" if view.abnormal else "")
            for finding in view.findings(motion_note_only=True):  # the summary says the rest
                doc.paragraph(finding, "B")
            if keys:
                doc.paragraph(keys[0], "B" if keys[1] else "")
            norm = report.card.norm_for(take.task, view) if report.card else None
            y = doc.get_y()
            heights = [0.0]
            if norm is not None:
                heights.append(doc.svg(charts.score_chart(
                    view.error, norm, f"{hand.capitalize()} hand against healthy hands"),
                    doc.l_margin, y, 84))
            if view.explanation:
                heights.append(doc.svg(charts.explanation_map(
                    view.explanation, view.window_s, f"{hand.capitalize()} hand: where and when"),
                    doc.l_margin + 86, y, 100))
            doc.set_y(y + max(heights) + 2)


FOLLOWUP_MM = 105.0  # heading, note and chart


def _followup(doc: ReportDocument, report: SessionReport) -> None:
    current = EarlierSession(report.session_id, report.started,
                             worst_severity_per_task([t.score for t in report.takes]))
    if doc.get_y() + FOLLOWUP_MM > doc.page_break_trigger:
        doc.add_page()
    doc.ln(2)
    doc.heading("Follow-up over visits")
    doc.paragraph("The worst severity per task (error divided by the healthy threshold, "
                  "either hand) at each visit; above 1 is abnormal.")
    doc.svg(charts.followup_chart([*report.earlier, current]), doc.l_margin, doc.get_y(), 180)


def render(report: SessionReport) -> bytes:
    footer = report.card.provenance if report.card else "No model information stored."
    doc = ReportDocument(footer)
    doc.set_title(latin1(f"Dystonia screening report, {report.patient_pseudonym}"))
    doc.set_creator(latin1(report.box_name))
    doc.add_page()
    _header(doc, report)
    _summary(doc, report)
    if report.earlier:
        _followup(doc, report)
    _takes(doc, report)
    return bytes(doc.output())


def write_pdf(report: SessionReport, path: Path) -> Path:
    """Render and write atomically; returns ``path``."""
    path = Path(path)
    write_bytes(path, render(report))
    return path
