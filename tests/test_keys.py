"""Key sensors: contract 4 on both sides (driver and emulator), clock synchronisation, MIDI
messages and files, the simulated pianist, and choosing a source from configuration.
Deterministic: the Pi clock is a `SteppingClock`, never real time."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import mido
import numpy as np
import pytest

from device.config import from_mapping
from device.hardware import keybar as kb
from device.hardware.clock_sync import WRAP_US, ClockSync, ClockSyncError
from device.hardware.emulated_i2c import EmulatedBus
from device.hardware.emulated_keybar import EmulatedKeyBar, SteppingClock
from device.hardware.i2c import I2CBus, I2CDeviceError
from device.hardware.key_source import ONSET, RELEASE, Cue, KeyEvent, keys_array
from device.hardware.keybar import KeyBar, KeyBarError, decode_events
from device.hardware.keys import (
    KeyBarSource,
    KeySourceError,
    MidiSource,
    NoKeys,
    SimulatedKeys,
    open_keys,
    selftest_keys,
)
from device.hardware.midi import MidiError, message_event, read_midi_file
from device.hardware.performance import perform
from device.protocol import load as load_protocol

ADDRESS = 0x42


@dataclass
class Rig:
    """Emulated key bar directly on an emulated bus, its driver, and the shared Pi clock."""

    clock: SteppingClock
    emulated: EmulatedKeyBar
    bus: EmulatedBus
    i2c: I2CBus
    bar: KeyBar


def rig(seed: int = 0, *, start_us: int = 123_456, drift_ppm: float = 50.0,
        **bar_options) -> Rig:
    clock = SteppingClock(np.random.default_rng(seed))
    emulated = EmulatedKeyBar(clock=clock, start_us=start_us, drift_ppm=drift_ppm,
                              **bar_options)
    bus = EmulatedBus()
    bus.attach(ADDRESS, emulated)
    i2c = I2CBus(bus, mux_address=None, sleep=lambda s: None)
    return Rig(clock, emulated, bus, i2c, KeyBar(i2c.device("key bar", ADDRESS), clock=clock))


def event_bytes(key: int, kind: int, device_us: int, velocity: int) -> bytes:
    return (bytes([key, kind]) + device_us.to_bytes(4, "little")
            + velocity.to_bytes(2, "little"))


def play(source: KeyBarSource, clock: SteppingClock, until: float, step_s: float = 0.01):
    events = []
    while clock.now < until:
        clock.advance(step_s)
        source.poll()
        events += source.drain()
    return events


# --- contract 4: bytes ------------------------------------------------------------------
def test_events_decode_from_hand_built_bytes():
    data = event_bytes(39, 1, 0xDEADBEEF, 65535) + event_bytes(87, 2, 5, 0)
    first, second = decode_events(data)
    assert (first.note, first.kind, first.device_us, first.velocity) == (60, ONSET, 0xDEADBEEF,
                                                                        1.0)
    assert (second.note, second.kind, second.device_us, second.velocity) == (108, RELEASE, 5,
                                                                             0.0)
    assert struct.calcsize(kb.EVENT_FORMAT) == kb.EVENT_SIZE == 8


@pytest.mark.parametrize("data, words", [
    (event_bytes(88, 1, 0, 0), "key index 88"),
    (event_bytes(10, 3, 0, 0), "kind 3"),
    (event_bytes(10, 0, 0, 0), "kind 0"),
    (event_bytes(10, 1, 0, 0)[:7], "not a whole number"),
])
def test_malformed_event_bytes_are_refused_with_what_was_wrong(data, words):
    with pytest.raises(KeyBarError, match=words):
        decode_events(data)


def test_emulator_register_map_seen_through_raw_smbus_calls():
    r = rig(start_us=0x01020304)
    assert r.bus.read_byte_data(ADDRESS, 0x00) == 0x4B
    assert r.bus.read_byte_data(ADDRESS, 0x01) == 0x01
    assert r.bus.read_byte_data(ADDRESS, 0x02) == 0  # empty, no overflow, not scanning
    r.bus.write_byte_data(ADDRESS, 0x20, 0x01)
    r.emulated.queue(60, ONSET, 1000, 0.5)
    r.emulated.queue(61, RELEASE, 2000, 0.25)
    assert r.bus.read_byte_data(ADDRESS, 0x02) == 0b101
    assert r.bus.read_i2c_block_data(ADDRESS, 0x03, 2) == [2, 0]
    assert r.bus.read_i2c_block_data(ADDRESS, 0x10, 8) == list(event_bytes(39, 1, 1000, 32768))
    assert r.bus.read_i2c_block_data(ADDRESS, 0x03, 2) == [1, 0]
    r.bus.write_byte_data(ADDRESS, 0x20, 0x03)  # clear the FIFO, keep scanning
    assert r.bus.read_i2c_block_data(ADDRESS, 0x03, 2) == [0, 0]
    with pytest.raises(OSError):
        r.bus.read_byte_data(ADDRESS, 0x20)  # CTRL is write-only
    with pytest.raises(OSError):
        r.bus.write_byte_data(ADDRESS, 0x00, 1)  # WHO_AM_I is read-only


def test_multi_byte_register_is_latched_at_its_first_byte():
    r = rig(start_us=0x00FFFFF0)
    low = r.bus.read_byte_data(ADDRESS, 0x05)  # latches CLOCK_US
    r.clock.advance(1.0)  # the counter moves on by a million
    rest = [r.bus.read_byte_data(ADDRESS, register) for register in (0x06, 0x07, 0x08)]
    latched = int.from_bytes(bytes([low, *rest]), "little")
    assert abs(latched - 0x00FFFFF0) < 1000
    fresh = int.from_bytes(bytes(r.bus.read_i2c_block_data(ADDRESS, 0x05, 4)), "little")
    assert fresh - latched > 999_000


def test_clock_register_wraps_at_two_to_the_32():
    r = rig(start_us=WRAP_US - 500_000, drift_ppm=0.0)
    r.clock.advance(1.0)
    value, _, _ = r.bar.read_clock()
    assert 400_000 < value < 600_000


def test_fifo_is_popped_four_events_per_block_read():
    r = rig()
    r.bar.control(scanning=True)
    for i in range(10):
        r.emulated.queue(21 + i, ONSET, i, 0.5)
    assert r.bar.fifo_count() == 10
    before = r.bus.transactions
    events = r.bar.pop_events(10)
    assert r.bus.transactions - before == 3  # 4 + 4 + 2
    assert [e.note for e in events] == list(range(21, 31))
    assert r.bar.fifo_count() == 0


# --- faults -----------------------------------------------------------------------------
def test_absent_key_bar_is_named_with_its_address():
    r = rig()
    r.emulated.faults.absent = True
    with pytest.raises(I2CDeviceError, match="key bar at 0x42"):
        r.bar.identify()


def test_a_few_nacks_are_retried():
    r = rig()
    r.emulated.faults.nack_next = 2
    assert r.bar.identify() == 1
    assert r.i2c.failures == 2


@pytest.mark.parametrize("options, words", [
    ({"who_am_i": 0x4A}, "WHO_AM_I 0x4a, not 0x4b"),
    ({"version": 2}, "protocol version 2"),
])
def test_wrong_identity_or_version_is_refused(options, words):
    r = rig(**options)
    with pytest.raises(KeyBarError, match=words):
        r.bar.identify()


def test_stuck_bit_in_identity_is_caught():
    r = rig()
    r.emulated.faults.stuck[kb.WHO_AM_I] = (0x80, 0x80)
    with pytest.raises(KeyBarError, match="0xcb"):
        r.bar.identify()


def test_stuck_bit_in_fifo_count_is_caught():
    r = rig()
    r.emulated.faults.stuck[kb.FIFO_COUNT + 1] = (0x02, 0x02)  # count += 512
    with pytest.raises(KeyBarError, match="FIFO holds 256"):
        r.bar.fifo_count()


def test_overflow_flag_is_reported_once_and_cleared_by_reading():
    r = rig()
    r.bar.control(scanning=True)
    for i in range(kb.FIFO_DEPTH + 5):
        r.emulated.queue(60, ONSET, i, 0.5)
    assert r.emulated.lost == 5
    assert r.bar.fifo_count() == kb.FIFO_DEPTH
    assert r.bar.status().overflowed
    assert not r.bar.status().overflowed
    events = r.bar.pop_events(kb.FIFO_DEPTH)
    assert [e.device_us for e in events] == list(range(kb.FIFO_DEPTH))  # the oldest kept


def test_take_that_overflowed_is_marked_and_keeps_what_was_queued():
    r = rig()
    source = KeyBarSource(r.bar, background=False)
    source.start()
    start = r.clock.now
    burst = [KeyEvent(start + 0.001 * i, 21 + i % 88, ONSET, 0.5) for i in range(300)]
    r.emulated.inject(burst)
    r.clock.advance(0.5)  # nobody polls while 300 keys go down
    source.stop()
    assert source.overflowed
    assert len(source.drain()) == kb.FIFO_DEPTH


def test_overflow_before_the_take_does_not_mark_it():
    r = rig()
    r.bar.control(scanning=True)
    for i in range(kb.FIFO_DEPTH + 1):
        r.emulated.queue(60, ONSET, i, 0.5)
    source = KeyBarSource(r.bar, background=False)
    source.start()  # clears the FIFO and the stale flag
    play(source, r.clock, r.clock.now + 0.2)
    source.stop()
    assert not source.overflowed
    assert source.drain() == []


def test_events_while_scanning_is_off_are_not_queued():
    r = rig()
    r.emulated.inject([KeyEvent(r.clock.now + 0.01, 60, ONSET, 0.5)])
    r.clock.advance(0.1)
    assert r.bar.fifo_count() == 0
    assert not r.bar.status().scanning


def test_key_bar_that_stops_answering_during_a_take_fails_the_take_clearly():
    r = rig()
    source = KeyBarSource(r.bar, background=False)
    source.start()
    r.emulated.faults.absent = True
    with pytest.raises(KeySourceError, match="stopped answering"):
        source.stop()
    with pytest.raises(KeySourceError, match="cannot start the take: key bar at 0x42"):
        source.start()


def test_background_polling_delivers_every_event_by_stop():
    emulated = EmulatedKeyBar(drift_ppm=50.0)  # real time.monotonic
    bus = EmulatedBus()
    bus.attach(ADDRESS, emulated)
    bar = KeyBar(I2CBus(bus, mux_address=None).device("key bar", ADDRESS))
    source = KeyBarSource(bar, poll_s=0.001)
    source.start()
    now = bar.clock()
    emulated.inject(KeyEvent(now - 0.001 * i, 60 + i, ONSET, 0.5) for i in range(5))
    source.stop()
    assert sorted(e.note for e in source.drain()) == [60, 61, 62, 63, 64]


# --- clock synchronisation --------------------------------------------------------------
def performed_take(seed: int, *, start_us: int, drift_ppm: float, task: int = 1,
                   seconds_before: float = 0.5):
    r = rig(seed, start_us=start_us, drift_ppm=drift_ppm)
    source = KeyBarSource(r.bar, background=False)
    source.start()
    truth = perform(load_protocol().task(task), np.random.default_rng(seed),
                    start_s=r.clock.now + seconds_before)
    r.emulated.inject(truth)
    got = play(source, r.clock, truth[-1].time_s + 0.5)
    source.stop()
    got += source.drain()
    return truth, got, r


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_event_times_on_the_pi_clock_are_within_0_2_ms_of_truth(seed):
    truth, got, r = performed_take(seed, start_us=987_654_321, drift_ppm=50.0, task=2)
    assert [(e.note, e.kind) for e in got] == [(e.note, e.kind) for e in truth]
    errors = np.array([g.time_s - t.time_s for g, t in zip(got, truth, strict=True)])
    assert np.max(np.abs(errors)) < 0.2e-3
    fit = r.bar.sync.fit()
    assert fit.drift_fitted
    assert fit.drift_ppm == pytest.approx(50.0, abs=5.0)


def test_events_drained_after_the_take_get_the_final_fit():
    r = rig(5, start_us=WRAP_US - 1_000_000, drift_ppm=120.0)
    source = KeyBarSource(r.bar, background=False)
    source.start()
    truth = perform(load_protocol().task(3), np.random.default_rng(5), start_s=r.clock.now)
    r.emulated.inject(truth)
    while r.clock.now < truth[-1].time_s + 0.5:
        r.clock.advance(0.01)
        source.poll()
    source.stop()
    got = source.drain()
    errors = np.array([g.time_s - t.time_s for g, t in zip(got, truth, strict=True)])
    assert np.max(np.abs(errors)) < 20e-6


def test_clock_sync_recovers_offset_and_drift_of_the_emulated_counter():
    r = rig(7, start_us=3_000_000_000, drift_ppm=-80.0)
    for _ in range(20):  # a burst a second for 20 s
        r.bar.synchronise(8)
        r.clock.advance(1.0)
    fit = r.bar.sync.fit()
    assert fit.drift_ppm == pytest.approx(-80.0, abs=3.0)
    device_us = r.bar.sync.unwrap(r.emulated.device_us(r.clock.now) % WRAP_US)
    assert fit.monotonic(device_us) == pytest.approx(r.clock.now, abs=50e-6)


def test_take_across_the_counter_wrap_keeps_times_in_order():
    truth, got, r = performed_take(4, start_us=WRAP_US - 2_000_000, drift_ppm=50.0, task=1,
                                   seconds_before=0.3)
    wrapped_at = r.emulated.true_time(WRAP_US)
    assert truth[0].time_s < wrapped_at < truth[-1].time_s
    times = np.array([e.time_s for e in got])
    assert np.all(np.diff(times) >= 0)
    errors = times - np.array([t.time_s for t in truth])
    assert np.max(np.abs(errors)) < 0.2e-3


def test_clock_sync_unwraps_reads_and_event_times():
    sync = ClockSync()
    sync.add(WRAP_US - 1000, 10.0, 10.0)
    sync.add(500, 10.0015, 10.0015)  # 1.5 ms later, past the wrap
    assert sync.unwrap(WRAP_US - 200) == WRAP_US - 200  # an event just before the wrap
    assert sync.unwrap(300) == WRAP_US + 300  # and just after
    assert sync.to_monotonic(300) == pytest.approx(10.0013, abs=1e-9)


def test_slow_transactions_do_not_enter_the_fit():
    sync = ClockSync()
    for i in range(20):
        t = 5.0 + i * 0.001
        sync.add(1_000_000 + i * 1000, t - 20e-6, t + 20e-6)
    # preempted for 4 ms after the latch: the midpoint is 2 ms off
    sync.add(1_030_000, 5.030 - 20e-6, 5.034)
    assert sync.fit().monotonic(1_030_000) == pytest.approx(5.030, abs=2e-6)


def test_counter_that_jumps_starts_the_fit_afresh():
    sync = ClockSync()
    for i in range(10):
        sync.add(1_000_000 + i * 1000, 1.0 + i * 0.001, 1.0 + i * 0.001)
    sync.add(50, 1.011, 1.011)  # the key bar was reset
    assert sync.jumps == 1
    assert len(sync) == 1
    assert sync.to_monotonic(1050) == pytest.approx(1.012)


def test_clock_sync_without_reads_says_so():
    with pytest.raises(ClockSyncError, match="not been read"):
        ClockSync().to_monotonic(5)


# --- MIDI -------------------------------------------------------------------------------
def test_midi_messages_become_key_events():
    onset = message_event(mido.Message("note_on", note=60, velocity=127), 3.0)
    assert onset == KeyEvent(3.0, 60, ONSET, 1.0)
    release = message_event(mido.Message("note_off", note=60, velocity=64), 3.5)
    assert (release.kind, release.velocity) == (RELEASE, 64 / 127)
    silent = message_event(mido.Message("note_on", note=61, velocity=0), 4.0)
    assert silent.kind == RELEASE and math.isnan(silent.velocity)
    assert message_event(mido.Message("control_change", control=64, value=127), 1.0) is None
    assert message_event(mido.Message("note_on", note=10, velocity=50), 1.0) is None


class FakeBackend:
    """The two calls MidiSource makes of a mido backend."""

    def __init__(self, names):
        self.names = names
        self.opened = None

    def get_input_names(self):
        return self.names

    def open_input(self, name, callback):
        self.opened = name
        return self

    def close(self):
        self.opened = None


def test_midi_source_stamps_messages_on_arrival_while_recording():
    now = [100.0]
    backend = FakeBackend(["Midi Through:Midi Through Port-0 14:0", "Digital Piano:0 20:0"])
    source = MidiSource(clock=lambda: now[0], backend=backend)
    assert backend.opened == "Digital Piano:0 20:0"
    source.receive(mido.Message("note_on", note=60, velocity=90))  # before start: dropped
    source.start()
    source.receive(mido.Message("note_on", note=62, velocity=90))
    now[0] = 100.25
    source.receive(mido.Message("note_on", note=62, velocity=0))
    source.stop()
    source.receive(mido.Message("note_on", note=64, velocity=90))
    assert [(e.time_s, e.note, e.kind) for e in source.drain()] == [
        (100.0, 62, ONSET), (100.25, 62, RELEASE)]
    source.close()
    assert backend.opened is None


def test_midi_port_by_name_and_clear_errors_when_missing():
    backend = FakeBackend(["Digital Piano:0 20:0", "Synth:0 24:0"])
    assert MidiSource("Synth", backend=backend).port_name == "Synth:0 24:0"
    with pytest.raises(MidiError, match=r"'Organ' not found \(ports: Digital Piano"):
        MidiSource("Organ", backend=backend)
    with pytest.raises(MidiError, match=r"no MIDI input port found.*connect the digital piano"):
        MidiSource(backend=FakeBackend(["Midi Through:Midi Through Port-0 14:0"]))


def test_midi_file_is_read_with_its_tempo(tmp_path):
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))  # 120 bpm
    track.append(mido.Message("note_on", note=60, velocity=64, time=480))  # at 0.5 s
    track.append(mido.Message("note_off", note=60, velocity=0, time=240))  # 0.75 s
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))  # 60 bpm
    track.append(mido.Message("note_on", note=64, velocity=127, time=480))  # 1.75 s
    track.append(mido.Message("note_on", note=64, velocity=0, time=480))  # 2.75 s
    path = tmp_path / "keys.mid"
    midi.save(path)
    events = read_midi_file(path)
    assert [(e.note, e.kind) for e in events] == [(60, ONSET), (60, RELEASE), (64, ONSET),
                                                  (64, RELEASE)]
    assert [e.time_s for e in events] == pytest.approx([0.5, 0.75, 1.75, 2.75])
    assert keys_array(events)[:, :3].tolist() == [[60, 0.5, 0.75], [64, 1.75, 2.75]]


def test_bad_midi_file_is_named(tmp_path):
    path = tmp_path / "broken.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06\x00")
    with pytest.raises(MidiError, match=r"broken\.mid: not a readable MIDI file"):
        read_midi_file(path)
    with pytest.raises(MidiError, match=r"missing\.mid: MIDI file not found"):
        read_midi_file(tmp_path / "missing.mid")


def test_keys_array_pairs_onsets_with_releases():
    events = [KeyEvent(0.9, 50, RELEASE, 0.3),  # down before recording: dropped
              KeyEvent(1.0, 60, ONSET, 0.5), KeyEvent(1.2, 60, ONSET, 0.6),
              KeyEvent(1.3, 60, RELEASE, 0.3), KeyEvent(1.4, 62, ONSET, 0.7)]
    assert keys_array(events, end_s=2.0).tolist() == [[60, 1.0, 1.2, 0.5], [60, 1.2, 1.3, 0.6],
                                                      [62, 1.4, 2.0, 0.7]]
    assert keys_array([]).shape == (0, 4)


# --- simulated pianist ------------------------------------------------------------------
@pytest.mark.parametrize("number, tempo_mode", [(1, "fixed"), (4, "fastest"), (9, "fixed")])
def test_simulated_source_plays_the_tasks_notes_in_order(number, tempo_mode):
    task = load_protocol().task(number)
    clock = SteppingClock(np.random.default_rng(0))
    source = SimulatedKeys(5, clock=clock)
    source.start(Cue(task=number, dynamics="ff", tempo_mode=tempo_mode))
    events = []
    while not events or clock.now < events[-1].time_s + 1.0:
        clock.advance(0.05)
        events += source.drain()
    source.stop()
    onsets = [e for e in events if e.kind == ONSET]
    assert np.all(np.diff([e.time_s for e in events]) >= 0)
    for hand in ("right", "left"):
        played = [getattr(event, hand) for event in task.played()]
        notes = [e.note for e in onsets if e.note in {n for chord in played for n in chord}]
        chunks, at = [], 0
        for chord in played:
            chunks.append(sorted(notes[at:at + len(chord)]))
            at += len(chord)
        assert chunks == [sorted(chord) for chord in played]
    assert np.mean([e.velocity for e in onsets]) > 0.7  # ff
    array = keys_array(events)
    assert array.shape[0] == len(onsets) and np.all(array[:, 2] > array[:, 1])


def test_simulated_source_stops_where_it_was_stopped():
    clock = SteppingClock(np.random.default_rng(0))
    source = SimulatedKeys(clock=clock, lead_in_s=0.0)
    source.start(Cue(task=1))
    clock.advance(1.0)
    source.stop()
    clock.advance(10.0)
    events = source.drain()
    assert events and max(e.time_s for e in events) <= clock.now - 10.0
    assert source.drain() == []


# --- choosing a source, self-test -------------------------------------------------------
def config(**keys):
    return from_mapping({"box": {"simulate": "real"}, "keys": keys})


def emulated_i2c(**bar_options):
    emulated = EmulatedKeyBar(**bar_options)
    bus = EmulatedBus()
    bus.attach(ADDRESS, emulated)
    return I2CBus(bus, mux_address=None, sleep=lambda s: None), emulated


def test_open_keys_gives_each_configured_source():
    bus, _ = emulated_i2c()
    assert isinstance(open_keys(config(source="keybar"), bus), KeyBarSource)
    assert isinstance(open_keys(config(source="none")), NoKeys)
    assert isinstance(open_keys(config(source="sim")), SimulatedKeys)
    midi = open_keys(config(source="midi"), midi_backend=FakeBackend(["Piano"]))
    assert isinstance(midi, MidiSource)
    simulated_box = from_mapping({"box": {"simulate": "sim"}})
    assert isinstance(open_keys(simulated_box), SimulatedKeys)


def test_key_bar_behind_the_multiplexer_when_configured():
    bus = EmulatedBus()
    bus.attach_mux(0x70)
    bus.attach(ADDRESS, EmulatedKeyBar(), channel=7)
    source = open_keys(config(source="keybar", keybar_channel=7),
                       I2CBus(bus, sleep=lambda s: None))
    assert isinstance(source, KeyBarSource) and source.bar.device.channel == 7


def test_configured_key_bar_that_does_not_answer_is_a_fault_not_a_fallback():
    bus, emulated = emulated_i2c()
    emulated.faults.absent = True
    with pytest.raises(KeySourceError, match="key bar at 0x42"):
        open_keys(config(source="keybar"), bus)
    with pytest.raises(KeySourceError, match="no MIDI input port"):
        open_keys(config(source="midi"), midi_backend=FakeBackend([]))


def test_auto_on_a_box_finds_the_key_bar_then_midi_then_none():
    bus, emulated = emulated_i2c()
    assert isinstance(open_keys(config(), bus, midi_backend=FakeBackend([])), KeyBarSource)
    emulated.faults.absent = True
    assert isinstance(open_keys(config(), bus, midi_backend=FakeBackend(["Piano"])), MidiSource)
    assert isinstance(open_keys(config(), bus, midi_backend=FakeBackend([])), NoKeys)


def test_selftest_reports_the_key_bar():
    bus, _ = emulated_i2c()
    (check,) = selftest_keys(config(source="keybar"), bus)
    assert check.ok and "answered at 0x42, protocol 1, clock running" in check.detail


def test_selftest_failures_say_what_to_check():
    bus, emulated = emulated_i2c(who_am_i=0x00)
    (wrong,) = selftest_keys(config(source="keybar"), bus)
    assert not wrong.ok and "WHO_AM_I 0x00" in wrong.detail and "firmware" in wrong.fix
    emulated.faults.absent = True
    (absent,) = selftest_keys(config(source="keybar"), bus)
    assert not absent.ok and "cable" in absent.fix
    (nothing,) = selftest_keys(config(), bus, midi_backend=FakeBackend([]))
    assert not nothing.ok and "none found" in nothing.detail and 'source = "none"' in nothing.fix
    (piano,) = selftest_keys(config(), bus, midi_backend=FakeBackend(["Piano"]))
    assert piano.ok and "'Piano'" in piano.detail
    assert selftest_keys(config(source="none"), bus)[0].ok


def test_stopped_key_bar_clock_fails_the_selftest():
    bus, emulated = emulated_i2c()
    emulated.faults.stuck.update({r: (0xFF, 0x00) for r in range(0x05, 0x09)})
    (check,) = selftest_keys(config(source="keybar"), bus)
    assert not check.ok and "does not run" in check.detail
