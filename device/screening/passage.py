"""Whether a hand's keys play the passage of the task the take is filed under.

The autoencoder of a task has learnt that task's passage, and judges any other passage
abnormal: healthy synthetic takes of task 2 scored by the task 1, 4, 7 and 10 models came
out 2.5 to 51 times the threshold (median). A wrong task chosen in the wizard, or another
passage played, would thus read as dystonia. The keys tell: on the fresh synthetic cohort
every hand's keys follow at least 92 % of its own task's notes, and at most 66 % of the
next task's. So a hand whose keys follow fewer than MIN_FOLLOWED of the task's notes keeps
its verdict, but is reported as maybe not having played the task. A hand without keys on
its side of the keyboard is not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from device.screening.key_timing import MIN_FOLLOWED, AlignedNotes


@dataclass(frozen=True)
class PassageCheck:
    task: int
    followed: int  # notes of the score matched by a key
    expected: int  # notes the score gives this hand

    @classmethod
    def of(cls, task: int, notes: AlignedNotes) -> PassageCheck:
        return cls(task, len(notes.onset), notes.expected)

    @property
    def as_the_task(self) -> bool:
        return self.expected > 0 and self.followed >= MIN_FOLLOWED * self.expected

    def as_dict(self) -> dict[str, Any]:
        return {"notes_followed": self.followed, "notes_expected": self.expected,
                "as_the_task": self.as_the_task}

    def sentence(self, hand: str) -> str:
        return (f"The {hand} hand's keys follow only {self.followed} of the {self.expected} "
                f"notes task {self.task} gives it: if another passage was played, or another "
                "task chosen, this verdict does not apply. Record the task again as shown.")
