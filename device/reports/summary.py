"""A session's results in plain words for a clinician with no musical training.

The wording never goes beyond what was measured: a take "looked abnormal" to a model of
healthy hands; the whole is a reason to refer to a movement-disorder specialist, never a
diagnosis. Biomechanics and TOJT paragraphs appear only when their results exist.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from device.kinematics.trim import TRIMMED_BY_MOTION
from device.protocol import load as load_protocol
from device.reports.model import (
    NOT_FOR_CLINICAL_USE,
    Biomechanics,
    CardSummary,
    HandView,
    SessionReport,
    TakeResult,
    Tojt,
    hand_views,
)
from device.screening.findings import motion_trim_caveat

CAVEAT = ("This is a screening result: a reason to refer to a specialist in movement "
          "disorders if the concern fits the clinical picture, not a diagnosis.")
FINGER_WORDS = {"wrist": "wrist", "thumb": "thumb", "index": "index finger",
                "middle": "middle finger", "ring": "ring finger", "little": "little finger"}
NOTABLE_Z = 2.0  # biomechanics z-scores beyond this are mentioned
#: The paper's asymmetry, ||z_L - z_R|| over five fingers, is chi-distributed for a healthy
#: player whose z-scores are independent standard normals: sqrt(2 * chi2_5) has its 95th
#: percentile at 4.7. Real left and right hands correlate, so this bound is generous.
ASYMMETRY_UPPER = 4.7


@dataclass
class Summary:
    headline: str
    findings: list[str] = field(default_factory=list)
    without_keys: list[str] = field(default_factory=list)
    unscored: list[str] = field(default_factory=list)
    biomechanics: list[str] = field(default_factory=list)
    tojt: list[str] = field(default_factory=list)
    provenance: str = ""
    caveat: str = CAVEAT

    def paragraphs(self) -> list[str]:
        return [self.headline, *self.findings, *self.without_keys, *self.unscored,
                *self.biomechanics,
                *self.tojt, self.provenance, self.caveat]

    def text(self) -> str:
        return "\n\n".join(p for p in self.paragraphs() if p)


def task_name(task: int) -> str:
    tasks = load_protocol().tasks
    return f"task {task} ({tasks[task].name})" if task in tasks else f"task {task}"


def severity_words(severity: float) -> str:
    """How far above the threshold, in words a clinician can weigh."""
    if severity <= 1.0:
        return "within the healthy range"
    if severity < 1.5:
        return f"slightly above the healthy threshold ({severity:.1f} times it)"
    if severity < 3.0:
        return f"clearly above the healthy threshold ({severity:.1f} times it)"
    return f"far above the healthy threshold ({severity:.1f} times it)"


def moment_words(hand: HandView) -> str:
    fraction = hand.worst_window_fraction
    if fraction is None:
        return ""
    middle = (fraction[0] + fraction[1]) / 2
    part = ("at the start" if middle < 1 / 3 else
            "in the middle" if middle < 2 / 3 else "towards the end")
    seconds = hand.worst_window_s
    if seconds:
        return f"{part} ({seconds[0]:.1f} to {seconds[1]:.1f} s into the take)"
    return part


def _hands_phrase(counts: Counter[str]) -> str:
    """Which hand: counts are per take, so a take abnormal in both hands counts in each."""
    if len(counts) == 1:
        hand = next(iter(counts))
        return f", all in the {hand} hand" if counts[hand] > 1 else f", in the {hand} hand"
    return ": " + ", ".join(f"the {hand} hand in {n}" for hand, n in sorted(counts.items()))


LOUDNESS = {"pp": "played softly (pp)", "ff": "played loudly (ff)"}
TEMPO = {"fixed": "at the set tempo", "fastest": "as fast as possible"}


def _take_phrase(take: TakeResult) -> str:
    return (f"{task_name(take.task)}, {LOUDNESS.get(take.dynamics, take.dynamics)} "
            f"{TEMPO.get(take.tempo_mode, take.tempo_mode)}")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def findings(takes: list[TakeResult]) -> tuple[str, list[str]]:
    scored = [t for t in takes if any(h is not None for h in hand_views(t.score).values())]
    if not scored:
        return "No take of this session could be scored yet.", []
    abnormal = [(t, h) for t in scored for h in hand_views(t.score).values()
                if h is not None and h.abnormal]
    abnormal_takes = {t.take_id for t, _ in abnormal}
    total = len(scored)
    if not abnormal:
        return (f"None of the {total} scored takes looked abnormal: in every take, each "
                "scored hand moved within the range of the healthy hands the model learnt."), []
    counts = Counter(h.hand for _, h in abnormal)
    headline = (f"{len(abnormal_takes)} of {total} scored takes looked abnormal"
                f"{_hands_phrase(counts)}.")
    take, hand = max(abnormal, key=lambda pair: pair[1].severity)
    worst = f"The strongest deviation was in the {hand.hand} hand during {_take_phrase(take)}"
    if hand.worst_finger:
        moment = moment_words(hand)
        worst += f"; the {FINGER_WORDS.get(hand.worst_finger, hand.worst_finger)} deviated most"
        worst += f", {moment}" if moment else ""
    worst += f". Its movement was {severity_words(hand.severity)}."
    lines = [worst]
    fingers = Counter(h.worst_finger for _, h in abnormal if h.worst_finger)
    if len(abnormal) > 1 and fingers:
        finger, n = fingers.most_common(1)[0]
        share = "all of them" if n == len(abnormal) else f"{n} of them"
        lines.append(f"Of the {len(abnormal)} abnormal hands, the "
                     f"{FINGER_WORDS.get(finger, finger)} was the most unusual finger in {share}.")
    tasks = sorted({t.task for t, _ in abnormal})
    if tasks != [take.task]:
        lines.append("Abnormal takes came from " + ", ".join(task_name(n) for n in tasks) + ".")
    return headline, lines


def without_keys(takes: list[TakeResult]) -> list[str]:
    """Once for the session, how many scored hands were judged without key data and what that
    means; each hand's own mention can then be short (device/screening/findings.py)."""
    views = [h for t in takes for h in hand_views(t.score).values() if h is not None]
    bare = [h for h in views if h.trimmed_by == TRIMMED_BY_MOTION]
    if not bare:
        return []
    if len(bare) == len(views):
        head = ("No scored take of this session had key data: the playing was found from the "
                "hands' movement alone.")
    else:
        head = (f"{len(bare)} of the {len(views)} scored hands had no key data: their playing "
                "was found from the hands' movement alone.")
    caveats = dict.fromkeys(motion_trim_caveat(h.threshold_from) for h in bare)
    return [" ".join([head, *caveats])]


def unscored(takes: list[TakeResult]) -> list[str]:
    lines = []
    for take in takes:
        if take.score is None:
            why = {"failed": "scoring failed", "processing": "still being scored",
                   "recorded": "not scored yet",
                   "scored": "marked scored but its result is missing"}.get(take.status,
                                                                            take.status)
            lines.append(f"{_sentence(_take_phrase(take))}: {why}.")
            continue
        reasons = take.score.get("reasons", {})
        for hand, view in hand_views(take.score).items():
            if view is None:
                why = reasons.get(hand) or take.score.get("reason") or "no reason given"
                lines.append(f"{_sentence(_take_phrase(take))}, {hand} hand: could not be "
                             f"scored ({why}).")
    if lines:
        lines.insert(0, f"Not scored ({len(lines)}):")
    return lines


def biomechanics_lines(result: Biomechanics) -> list[str]:
    lines = []
    for measure, per_finger in result.z.items():
        notable = [(f, z) for f, z in per_finger.items() if abs(z) > NOTABLE_Z]
        if not notable:
            lines.append(f"{_sentence(measure)}: every finger within 2 SD of healthy players.")
            continue
        parts = ", ".join(f"{FINGER_WORDS.get(f, f)} {abs(z):.1f} SD "
                          f"{'above' if z > 0 else 'below'}" for f, z in notable)
        lines.append(f"{_sentence(measure)}: outside the healthy range for {parts}.")
    for measure, value in result.asymmetry.items():
        verdict = "beyond" if value > ASYMMETRY_UPPER else "within"
        lines.append(f"Left/right asymmetry of {measure}: {value:.1f}, {verdict} what healthy "
                     f"players give (up to {ASYMMETRY_UPPER:.1f}).")
    return ["Finger biomechanics:", *lines] if lines else []


def tojt_lines(result: Tojt) -> list[str]:
    n = len(result.trials)
    correct = sum(t.correct for t in result.trials)
    line = (f"Temporal order judgement: threshold {result.threshold_s * 1000:.0f} ms "
            f"(75 % correct; {n} trials, {correct} answered correctly).")
    if result.reference_upper_s is not None:
        above = result.threshold_s > result.reference_upper_s
        line += (f" That is {'above' if above else 'within'} the healthy range (up to "
                 f"{result.reference_upper_s * 1000:.0f} ms).")
    return [line]


def provenance(card: CardSummary | None) -> str:
    if card is None:
        return "No model information is stored with these results."
    line = f"Scored by model {card.model_id}, trained on {card.trained_on} data."
    if not card.clinical_use:
        line += f" {NOT_FOR_CLINICAL_USE}."
    return line


def summarise(report: SessionReport) -> Summary:
    headline, lines = findings(report.takes)
    return Summary(
        headline=headline, findings=lines, without_keys=without_keys(report.takes),
        unscored=unscored(report.takes),
        biomechanics=biomechanics_lines(report.biomechanics) if report.biomechanics else [],
        tojt=tojt_lines(report.tojt) if report.tojt else [],
        provenance=provenance(report.card),
    )
