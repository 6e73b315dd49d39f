import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from device import takefile
from device.takefile import TakeFileError
from tests.helpers import make_take


def arrays_of(take):
    return {
        "format": np.array(takefile.FORMAT),
        "task": np.array(take.task),
        "t": take.t,
        "landmarks": take.landmarks,
        "image_size": np.array(take.image_size),
        "keys": take.keys,
        "meta": np.array(json.dumps(take.meta)),
    }


def save(path: Path, arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_round_trip(tmp_path):
    take = make_take()
    path = takefile.write(tmp_path / "P001_t1.take.npz", take)
    back = takefile.read(path)
    assert back.task == take.task
    np.testing.assert_array_equal(back.t, take.t)
    np.testing.assert_array_equal(back.landmarks, take.landmarks)
    np.testing.assert_array_equal(back.keys, take.keys)
    assert back.image_size == (1280, 720)
    assert back.meta == take.meta


def test_nan_landmarks_and_no_keys_are_valid(tmp_path):
    take = make_take(with_keys=False)
    take.landmarks[5:9, 0] = np.nan
    back = takefile.read(takefile.write(tmp_path / "a.take.npz", take))
    assert np.isnan(back.landmarks[6, 0]).all()
    assert back.keys.shape == (0, 4)


def test_write_is_atomic_and_refuses_invalid(tmp_path):
    path = tmp_path / "a.take.npz"
    takefile.write(path, make_take())
    before = path.read_bytes()
    bad = make_take()
    bad.t[5] = bad.t[4]
    with pytest.raises(TakeFileError, match="'t'"):
        takefile.write(path, bad)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.take.npz"]


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "b.take.npz"

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", explode)
    with pytest.raises(OSError):
        takefile.write(path, make_take())
    assert list(tmp_path.iterdir()) == []


MALFORMED = [
    ("missing key", lambda a: a.pop("keys"), "'keys': missing"),
    ("wrong format", lambda a: a.update(format=np.array("dystonia-take/2")), "'format'"),
    ("task not int", lambda a: a.update(task=np.array(1.5)), "'task'"),
    ("task out of range", lambda a: a.update(task=np.array(12)), "'task': must be a task"),
    ("t float32", lambda a: a.update(t=a["t"].astype(np.float32)), "'t': must be float64"),
    ("t not increasing", lambda a: a["t"].__setitem__(7, a["t"][6]), "strictly increasing"),
    ("t NaN", lambda a: a["t"].__setitem__(3, np.nan), "'t': contains NaN"),
    ("landmarks float64", lambda a: a.update(landmarks=a["landmarks"].astype(np.float64)),
     "'landmarks': must be float32"),
    ("landmarks shape", lambda a: a.update(landmarks=a["landmarks"][:, :, :20]),
     "'landmarks': must be float32 of shape"),
    ("landmarks one hand", lambda a: a.update(landmarks=a["landmarks"][:, :1]), "'landmarks'"),
    ("landmarks frames", lambda a: a.update(landmarks=a["landmarks"][:-1]), "'landmarks'"),
    ("landmarks inf", lambda a: a["landmarks"].__setitem__((0, 0, 0, 0), np.inf),
     "'landmarks': contains infinite"),
    ("image size", lambda a: a.update(image_size=np.array([1280])), "'image_size'"),
    ("image size float", lambda a: a.update(image_size=np.array([1280.0, 720.0])),
     "'image_size'"),
    ("keys shape", lambda a: a.update(keys=a["keys"][:, :3]), "'keys': must be float64"),
    ("note out of range", lambda a: a["keys"].__setitem__((0, 0), 109), "MIDI note 109"),
    ("note too low", lambda a: a["keys"].__setitem__((2, 0), 20), "row 2: MIDI note 20"),
    ("note not whole", lambda a: a["keys"].__setitem__((0, 0), 60.5), "MIDI note 60.5"),
    ("release before onset", lambda a: a["keys"].__setitem__((1, 2), 0.0), "release before"),
    ("velocity", lambda a: a["keys"].__setitem__((0, 3), 1.5), "velocity"),
    ("bad JSON", lambda a: a.update(meta=np.array("{tempo_bpm: 100")), "'meta': not valid JSON"),
    ("meta not object", lambda a: a.update(meta=np.array("[1, 2]")), "must be a JSON object"),
    ("meta missing field", lambda a: a.update(meta=np.array('{"tempo_bpm": 100}')),
     "missing field"),
    ("meta bad dynamics",
     lambda a: a.update(meta=np.array(json.dumps({**json.loads(str(a["meta"])),
                                                  "dynamics": "mf"}))),
     "dynamics must be one of pp, ff"),
    ("meta bad tempo",
     lambda a: a.update(meta=np.array(json.dumps({**json.loads(str(a["meta"])),
                                                  "tempo_bpm": -3}))),
     "tempo_bpm must be a positive"),
    ("object array", lambda a: a.update(meta=np.array({"x": 1}, dtype=object)),
     "'meta': not a valid .npy array"),
    ("meta infinite tempo",
     lambda a: a.update(meta=np.array(json.dumps({**json.loads(str(a["meta"])),
                                                  "tempo_bpm": float("inf")}))),
     "tempo_bpm must be a positive"),
    ("landmarks huge", lambda a: a["landmarks"].__setitem__((5, 1, 8, 1), 3e38),
     "'landmarks': frame 5, right hand, landmark 8: y = 3e+38"),
]


@pytest.mark.parametrize(("case", "damage", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_reader_names_the_problem(tmp_path, case, damage, message):
    arrays = arrays_of(make_take())
    damage(arrays)
    path = save(tmp_path / "bad.take.npz", arrays)
    with pytest.raises(TakeFileError) as info:
        takefile.read(path)
    text = str(info.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_not_an_archive(tmp_path):
    path = tmp_path / "x.take.npz"
    path.write_bytes(b"this is not a zip")
    with pytest.raises(TakeFileError, match=r"not a readable \.npz"):
        takefile.read(path)


def test_truncated_archive(tmp_path):
    path = takefile.write(tmp_path / "x.take.npz", make_take())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TakeFileError):
        takefile.read(path)


def test_single_npy_is_refused(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(TakeFileError, match=r"not an \.npz"):
        takefile.read(path)


def test_missing_file():
    with pytest.raises(TakeFileError, match="file not found"):
        takefile.read("/nonexistent/x.take.npz")


def test_damaged_member(tmp_path):
    path = takefile.write(tmp_path / "x.take.npz", make_take())
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["landmarks.npy"] = members["landmarks.npy"][:100]
    with zipfile.ZipFile(path, "w") as z:
        for name, blob in members.items():
            z.writestr(name, blob)
    with pytest.raises(TakeFileError, match="'landmarks'"):
        takefile.read(path)


@pytest.mark.parametrize(("member", "blob"), [
    ("t.npy", b"raw bytes without a .npy header"),
    ("landmarks.npy", b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 200),
])
def test_a_member_that_is_not_a_npy_array_is_named_in_one_line(tmp_path, member, blob):
    path = takefile.write(tmp_path / "x.take.npz", make_take())
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[member] = blob
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(TakeFileError) as info:
        takefile.read(path)
    text = str(info.value)
    assert f"'{member[:-4]}'" in text and "not a" in text and ".npy array" in text
    assert "\n" not in text


def test_a_header_claiming_a_huge_array_is_refused_in_one_line(tmp_path):
    path = takefile.write(tmp_path / "x.take.npz", make_take())
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += " " * (63 - len(header) % 64) + "\n"
    members["t.npy"] = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") \
        + header.encode() + b"\0" * 64
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(TakeFileError) as info:
        takefile.read(path)
    assert "'t'" in str(info.value) and "\n" not in str(info.value)


def test_same_take_gives_the_same_bytes(tmp_path, monkeypatch):
    first, second = tmp_path / "a.take.npz", tmp_path / "b.take.npz"
    takefile.write(first, make_take())
    later = time.time() + 3 * 3600  # archive timestamps would differ
    monkeypatch.setattr(time, "time", lambda: later)
    takefile.write(second, make_take())
    assert first.read_bytes() == second.read_bytes()
    assert takefile.read(first).n_frames == make_take().n_frames
