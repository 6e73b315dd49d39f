import json
import math

import numpy as np
import pytest

from device.tojt import TojResult, Zest, log_offset_of, most_informative_p, p_correct, run_toj


def simulate(z: Zest, threshold: float, rng: np.random.Generator, slope: float = 2.5) -> Zest:
    while not z.finished:
        soa = z.next_soa_ms()
        z.update(soa, bool(rng.random() < p_correct(soa, threshold, slope=slope)))
    return z


def test_psychometric_function_is_75_percent_at_threshold():
    assert p_correct(47.0, 47.0, slope=2.5) == pytest.approx(0.75)
    assert p_correct(1e-3, 47.0, slope=2.5) == pytest.approx(0.5, abs=1e-6)
    assert p_correct(1e6, 47.0, slope=2.5, lapse=0.02) == pytest.approx(0.98, abs=1e-6)


def test_api_surface_with_defaults():
    z = Zest()
    assert not z.finished and z.n_trials == 0
    soa = z.next_soa_ms()
    assert 1.0 <= soa <= 300.0
    assert soa == pytest.approx(z.threshold_ms, abs=0.05)  # trials at the posterior mean
    assert 40.0 < z.threshold_ms < 60.0  # the log-normal prior, cut at 300 ms
    before = z.threshold_ms
    z.update(soa, True)
    assert z.threshold_ms < before  # a right answer lowers the estimate
    after_right = z.threshold_ms
    z.update(z.next_soa_ms(), False)
    assert z.threshold_ms > after_right
    lo, hi = z.credible_interval_ms(0.95)
    assert lo < z.threshold_ms < hi


def test_keyword_settings_and_bad_input():
    z = Zest(soa_range_ms=(5, 200), prior_median_ms=40, prior_log_sd=0.5, slope=3.0,
             lapse=0.01, max_trials=3)
    for _ in range(3):
        z.update(z.next_soa_ms(), True)
    assert z.finished and z.stop_reason == "reached 3 trials"
    with pytest.raises(ValueError, match="stop"):
        Zest(max_trials=None, stop_log_sd=None)
    with pytest.raises(ValueError, match="soa_ms"):
        Zest().update(-4.0, True)
    with pytest.raises(ValueError, match="correct"):
        Zest().update(30.0, "yes")
    with pytest.raises(TypeError):
        Zest(sloep=2.0)


@pytest.mark.parametrize("threshold", [25.0, 45.0, 70.0, 120.0, 180.0])
def test_converges_on_simulated_observers(threshold):
    rng = np.random.default_rng(int(threshold))
    z = simulate(Zest(max_trials=80), threshold, rng)
    assert abs(math.log(z.threshold_ms / threshold)) < 0.35
    # the trials end up around the threshold
    late = np.array([soa for soa, _ in z.trials[-20:]])
    assert abs(math.log(np.exp(np.log(late).mean()) / threshold)) < 0.4


def test_trials_can_go_to_the_most_informative_level():
    p_star = most_informative_p(slope=2.5)
    assert 0.76 < p_star < 0.82
    assert p_correct(math.exp(log_offset_of(p_star, slope=2.5)) * 40.0, 40.0,
                     slope=2.5) == pytest.approx(p_star)
    z = Zest(place_at_p=p_star)
    assert z.next_soa_ms() == pytest.approx(z.threshold_ms * math.exp(0.1272), abs=0.1)
    z = simulate(Zest(max_trials=80, place_at_p=p_star), 70.0, np.random.default_rng(70))
    assert abs(math.log(z.threshold_ms / 70.0)) < 0.35
    with pytest.raises(ValueError, match="place_at_p"):
        Zest(place_at_p=0.4)


def test_stops_on_posterior_spread():
    z = simulate(Zest(max_trials=None, stop_log_sd=0.3), 50.0, np.random.default_rng(3))
    assert z.posterior_log_sd <= 0.3 and 5 < z.n_trials < 200
    assert "posterior SD" in z.stop_reason


def test_runner_randomises_order_records_and_recomputes(tmp_path):
    rng = np.random.default_rng(11)
    threshold = 55.0
    state = {}
    clock = iter(np.arange(0.0, 1000.0, 0.5))

    def stimulate(first: str, soa_ms: float) -> float:
        state["first"] = first
        state["soa"] = soa_ms + rng.normal(0, 0.05)  # what the edges say was delivered
        return state["soa"]

    def respond(trial: int) -> str:
        right = rng.random() < p_correct(state["soa"], threshold, slope=2.5)
        other = "middle" if state["first"] == "index" else "index"
        return state["first"] if right else other

    result = run_toj(Zest(max_trials=40), stimulate, respond, rng=rng,
                     clock=lambda: float(next(clock)))
    assert len(result.trials) == 40 and result.stop_reason == "reached 40 trials"
    firsts = [t.first for t in result.trials]
    assert 10 <= firsts.count("index") <= 30
    assert all(t.correct == (t.response == t.first) for t in result.trials)
    assert all(t.t_response_s > t.t_stimulus_s for t in result.trials)
    assert result.threshold_ms == result.trials[-1].threshold_after_ms
    path = result.save(tmp_path / "toj.json")
    loaded = TojResult.from_json(path.read_text())
    assert loaded == result
    assert loaded.recompute().threshold_ms == pytest.approx(result.threshold_ms, rel=1e-12)
    assert json.loads(path.read_text())["format"] == "dystonia-tojt/1"


def test_runner_stops_when_nobody_answers():
    answers = iter(["index", None, None, None])
    result = run_toj(Zest(), lambda first, soa: soa, lambda n: next(answers),
                     rng=np.random.default_rng(0))
    assert len(result.trials) == 4
    assert result.stop_reason == "no answer to 3 trials in a row"
    assert [t.correct for t in result.trials[1:]] == [None, None, None]
    assert len(result.answered()) == 1
    with pytest.raises(ValueError, match="answer must be"):
        run_toj(Zest(), lambda first, soa: soa, lambda n: "thumb", rng=np.random.default_rng(0))
