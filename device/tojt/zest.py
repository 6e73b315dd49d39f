"""ZEST: a Bayesian staircase for the 75 %-correct temporal order threshold.

King-Smith, Grigsby, Vingrys, Benes and Supowit (1994, Vision Research 34:885-912): keep a
probability density over the threshold on a grid, multiply it by the likelihood of each
answer, place the next trial at the posterior mean and report the posterior mean. Here the
grid is over ln(threshold) and the mean is taken in that domain (a geometric mean in ms),
because thresholds spread over a factor of ten between observers.

Outside code drives it alone::

    z = Zest()
    while not z.finished:
        soa = z.next_soa_ms()
        z.update(soa, correct=ask(soa))
    z.threshold_ms
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from device.tojt.psychometric import log_offset_of, p_correct


@dataclass(frozen=True)
class ZestSettings:
    """Everything that determines a run; stored beside its trials so it can be replayed."""

    soa_range_ms: tuple[float, float] = (1.0, 300.0)
    prior_median_ms: float = 60.0
    prior_log_sd: float = 1.0
    slope: float = 2.5
    guess: float = 0.5
    lapse: float = 0.02
    max_trials: int | None = 40
    stop_log_sd: float | None = None
    grid_points: int = 400
    soa_step_ms: float = 0.1
    place_at_p: float = 0.75

    def check(self) -> None:
        lo, hi = self.soa_range_ms
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise ValueError(
                f"soa_range_ms must be two increasing positive numbers, got {lo}, {hi}"
            )
        if not lo <= self.prior_median_ms <= hi:
            raise ValueError(f"prior_median_ms {self.prior_median_ms} is outside soa_range_ms")
        if not self.prior_log_sd > 0:
            raise ValueError(f"prior_log_sd must be positive, got {self.prior_log_sd}")
        if not self.slope > 0:
            raise ValueError(f"slope must be positive, got {self.slope}")
        if not (0 <= self.guess < 0.75 and 0 <= self.lapse < 0.25):
            raise ValueError(f"guess {self.guess} and lapse {self.lapse} leave no 75 % point")
        if self.max_trials is None and self.stop_log_sd is None:
            raise ValueError("give max_trials, stop_log_sd or both: the run must be able to stop")
        if self.max_trials is not None and self.max_trials < 1:
            raise ValueError(f"max_trials must be at least 1, got {self.max_trials}")
        if self.stop_log_sd is not None and not self.stop_log_sd > 0:
            raise ValueError(f"stop_log_sd must be positive, got {self.stop_log_sd}")
        if not self.guess < self.place_at_p < 1.0 - self.lapse:
            raise ValueError(f"place_at_p must lie between guess and 1 - lapse, got "
                             f"{self.place_at_p}")
        if self.grid_points < 20:
            raise ValueError(f"grid_points must be at least 20, got {self.grid_points}")


class Zest:
    """The ZEST staircase; keyword arguments are the fields of :class:`ZestSettings`.

    ``soa_range_ms``: the SOAs the stimulator may present (and the threshold grid's span);
    ``prior_median_ms``, ``prior_log_sd``: a log-normal prior on the threshold;
    ``slope``: logistic slope per unit of ln(SOA); ``guess``, ``lapse``: the asymptotes;
    ``max_trials`` and/or ``stop_log_sd`` (posterior SD of ln threshold): the stop rules;
    ``place_at_p``: trials go to the posterior mean of the SOA with this P(correct). The
    default 0.75 puts them at the threshold estimate itself (classic ZEST);
    ``most_informative_p(slope=...)`` (about 0.79 for the default slope) is a little more
    efficient (bench/zest_bench.py).
    """

    def __init__(self, **settings: Any) -> None:
        if "soa_range_ms" in settings:
            settings["soa_range_ms"] = tuple(float(v) for v in settings["soa_range_ms"])
        self.settings = ZestSettings(**settings)
        self.settings.check()
        s = self.settings
        lo, hi = s.soa_range_ms
        self._log_grid = np.linspace(math.log(lo), math.log(hi), s.grid_points)
        log_prior = -0.5 * ((self._log_grid - math.log(s.prior_median_ms)) / s.prior_log_sd) ** 2
        self._posterior = np.exp(log_prior - log_prior.max())
        self._posterior /= self._posterior.sum()
        self.trials: list[tuple[float, bool]] = []
        self._placement_offset = log_offset_of(s.place_at_p, slope=s.slope, guess=s.guess,
                                               lapse=s.lapse)

    # -- the staircase ---------------------------------------------------------------------
    def next_soa_ms(self) -> float:
        """The SOA for the next trial: the posterior mean (of the SOA at ``place_at_p``),
        within the range, on the step."""
        lo, hi = self.settings.soa_range_ms
        step = self.settings.soa_step_ms
        soa = min(max(math.exp(self._mean_log() + self._placement_offset), lo), hi)
        return min(max(round(round(soa / step) * step, 6), lo), hi)

    def update(self, soa_ms: float, correct: bool) -> None:
        """Add one answer at the SOA actually presented (which may differ from the request)."""
        soa = float(soa_ms)
        if not (math.isfinite(soa) and soa > 0):
            raise ValueError(f"soa_ms must be a positive number of milliseconds, got {soa_ms!r}")
        if not isinstance(correct, bool | np.bool_):
            raise ValueError(f"correct must be True or False, got {correct!r}")
        s = self.settings
        p = p_correct(soa, np.exp(self._log_grid), slope=s.slope, guess=s.guess, lapse=s.lapse)
        self._posterior *= p if correct else 1.0 - p
        self._posterior /= self._posterior.sum()
        self.trials.append((soa, bool(correct)))

    # -- what it knows ---------------------------------------------------------------------
    @property
    def threshold_ms(self) -> float:
        """Current estimate of the 75 %-correct SOA (posterior mean of ln threshold)."""
        return math.exp(self._mean_log())

    @property
    def posterior_log_sd(self) -> float:
        """Posterior SD of ln(threshold): 0.1 means about +-10 %."""
        mean = self._mean_log()
        return math.sqrt(float(np.sum(self._posterior * (self._log_grid - mean) ** 2)))

    def credible_interval_ms(self, mass: float = 0.95) -> tuple[float, float]:
        """Central posterior interval of the threshold holding ``mass`` of the probability."""
        cdf = np.cumsum(self._posterior)
        tail = (1.0 - mass) / 2
        lo = np.interp(tail, cdf, self._log_grid)
        hi = np.interp(1.0 - tail, cdf, self._log_grid)
        return math.exp(lo), math.exp(hi)

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    @property
    def finished(self) -> bool:
        s = self.settings
        if s.max_trials is not None and self.n_trials >= s.max_trials:
            return True
        return s.stop_log_sd is not None and self.posterior_log_sd <= s.stop_log_sd

    @property
    def stop_reason(self) -> str | None:
        """Why the run is finished (``None`` while it is not)."""
        s = self.settings
        if s.max_trials is not None and self.n_trials >= s.max_trials:
            return f"reached {s.max_trials} trials"
        if s.stop_log_sd is not None and self.posterior_log_sd <= s.stop_log_sd:
            return f"posterior SD of ln threshold {self.posterior_log_sd:.3f} <= {s.stop_log_sd}"
        return None

    def settings_dict(self) -> dict[str, Any]:
        d = asdict(self.settings)
        d["soa_range_ms"] = list(d["soa_range_ms"])
        return d

    @classmethod
    def replay(cls, settings: dict[str, Any], trials: list[tuple[float, bool]]) -> Zest:
        """A staircase rebuilt from stored settings and trials (for audit and recomputation)."""
        z = cls(**settings)
        for soa, correct in trials:
            z.update(soa, bool(correct))
        return z

    def _mean_log(self) -> float:
        return float(np.sum(self._posterior * self._log_grid))
