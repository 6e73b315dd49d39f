import itertools

import pytest

from device import protocol
from device.protocol import ProtocolError


def test_eleven_tasks_with_paper_names():
    proto = protocol.load()
    assert sorted(proto.tasks) == list(range(1, 12))
    assert "scale" in proto.task(1).name.lower()
    assert "arpeggio" in proto.task(3).name.lower()
    assert "black" in proto.task(4).name.lower()
    assert "thirds" in proto.task(7).name.lower()
    assert "five-note chord" in proto.task(9).name.lower()
    assert proto.quick_screen == (1, 3, 4, 7)
    assert proto.dynamics == ("pp", "ff")
    assert proto.tempo_modes == ("fixed", "fastest")


def test_tempi_follow_the_paper():
    proto = protocol.load()
    for n in range(1, 7):
        assert proto.task(n).kind == "single"
        assert proto.task(n).fixed_bpm == 100
    for n in range(7, 12):
        assert proto.task(n).kind == "chord"
        assert proto.task(n).fixed_bpm == 80


def test_mirror_image_fingering():
    proto = protocol.load()
    black = {1, 3, 6, 8, 10}
    for task in proto.tasks.values():
        for event in task.events:
            assert tuple(proto.mirror_pivot - n for n in event.right) == event.left
            # the mirror keeps black keys black, so both hands make the same shapes
            assert [n % 12 in black for n in event.right] == [n % 12 in black for n in event.left]


def test_task_four_uses_black_keys_and_thumb_under():
    task = protocol.load().task(4)
    assert any(n % 12 in {1, 3, 6, 8, 10} for e in task.events for n in e.right)
    fingers = [e.fingers[0] for e in task.events]
    assert any(a == 3 and b == 1 for a, b in itertools.pairwise(fingers))


def test_unknown_task_message():
    with pytest.raises(ProtocolError, match="unknown task 12"):
        protocol.load().task(12)


def test_inconsistent_file_is_refused():
    text = """
[protocol]
version = 1
dynamics = ["pp", "ff"]
tempo_modes = ["fixed", "fastest"]
quick_screen = [1]
mirror_pivot = 112
[[task]]
number = 1
name = "x"
kind = "single"
instructions = "x"
fixed_bpm = 100
beats_per_event = 0.25
repeats = 1
right_notes = [60, 62]
left_notes = [52, 51]
fingers = [1, 2]
"""
    with pytest.raises(ProtocolError, match="not the mirror image"):
        protocol.parse(text)
