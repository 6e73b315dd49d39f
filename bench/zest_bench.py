"""ZEST against QUEST+ on the same simulated observers, in the same run.

Observers answer with the box's psychometric function (logistic in ln SOA, guess 0.5, lapse
2 %) with 75 % thresholds drawn log-uniformly over 20-200 ms (healthy 30-80 ms and the raised
thresholds reported in dystonia, FACTS.md). Each observer's coin flips are shared by both
methods (trial k uses the same uniform number), so the two differ only by where they put
their trials.

The baseline is QUEST+ (Watson 2017, PyPI ``questplus``), trials at the minimum expected
entropy. It is given exactly the box's model and prior: its likelihood table is replaced by
the same logistic on the same threshold grid (``questplus`` itself offers no logistic), and
its estimate is likewise the posterior mean of log threshold.

Run it in its own environment (questplus pulls in xarray and pandas, which the box does not
need)::

    $(bash bench/questplus_env.sh) bench/zest_bench.py --observers 1000

Single process, single thread.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import questplus
import xarray as xr

from device.tojt import Zest, most_informative_p, p_correct

CHECKPOINTS = (20, 40, 60)


def run_zest(threshold: float, coins: np.ndarray, settings: dict) -> dict[int, float]:
    z = Zest(**{**settings, "max_trials": CHECKPOINTS[-1]})
    estimates = {}
    for k in range(CHECKPOINTS[-1]):
        soa = z.next_soa_ms()
        p = p_correct(soa, threshold, slope=settings["slope"], lapse=settings["lapse"])
        z.update(soa, bool(coins[k] < p))
        if z.n_trials in CHECKPOINTS:
            estimates[z.n_trials] = z.threshold_ms
    return estimates


def make_questplus(settings: dict, stimuli_ms: np.ndarray) -> questplus.QuestPlus:
    lo, hi = settings["soa_range_ms"]
    log10_grid = np.linspace(math.log10(lo), math.log10(hi), settings["grid_points"])
    ln_grid = log10_grid * math.log(10)
    prior = np.exp(-0.5 * ((ln_grid - math.log(settings["prior_median_ms"]))
                           / settings["prior_log_sd"]) ** 2)
    qp = questplus.QuestPlus(
        stim_domain={"intensity": np.log10(stimuli_ms)},
        # The fixed parameters are given as one-value dimensions: questplus 2023.1 mishandles
        # a prior over a single parameter.
        param_domain={"threshold": log10_grid, "slope": [1.0], "lower_asymptote": [0.5],
                      "lapse_rate": [settings["lapse"]]},
        outcome_domain={"response": ["Correct", "Incorrect"]},
        prior={"threshold": prior / prior.sum(), "slope": [1.0], "lower_asymptote": [1.0],
               "lapse_rate": [1.0]},
        func="weibull", stim_scale="log10",
    )
    p = p_correct(stimuli_ms[:, None], np.exp(ln_grid)[None, :],
                  slope=settings["slope"], lapse=settings["lapse"])
    table = xr.DataArray(
        np.stack([p, 1 - p]), dims=("response", "intensity", "threshold"),
        coords={"response": ["Correct", "Incorrect"], "intensity": np.log10(stimuli_ms),
                "threshold": log10_grid},
    )
    fixed = {d: qp.likelihoods[d].values for d in ("slope", "lower_asymptote", "lapse_rate")}
    qp.likelihoods = table.expand_dims(fixed).transpose(*qp.likelihoods.dims)
    return qp


def run_questplus(threshold: float, coins: np.ndarray, settings: dict,
                  stimuli_ms: np.ndarray) -> dict[int, float]:
    qp = make_questplus(settings, stimuli_ms)
    estimates = {}
    for k in range(CHECKPOINTS[-1]):
        log10_soa = qp.next_stim["intensity"]
        soa = 10.0 ** log10_soa
        p = p_correct(soa, threshold, slope=settings["slope"], lapse=settings["lapse"])
        outcome = "Correct" if coins[k] < p else "Incorrect"
        qp.update(stim={"intensity": log10_soa}, outcome={"response": outcome})
        if k + 1 in CHECKPOINTS:
            estimates[k + 1] = 10.0 ** qp.param_estimate["threshold"]
    return estimates


def summary(ratios: np.ndarray) -> tuple[float, float, float]:
    """Mean ratio - 1, geometric-mean ratio - 1, SD of ln(estimate / true)."""
    logs = np.log(ratios)
    return float(ratios.mean() - 1), float(np.exp(logs.mean()) - 1), float(logs.std())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--stimuli", type=int, default=100,
                        help="QUEST+'s SOA set: this many log-spaced values over the range")
    args = parser.parse_args()

    settings = Zest().settings_dict()
    settings.pop("max_trials")
    p_star = most_informative_p(slope=settings["slope"], lapse=settings["lapse"])
    zest_star = {**settings, "place_at_p": p_star}
    rng = np.random.default_rng(args.seed)
    thresholds = np.exp(rng.uniform(math.log(20), math.log(200), args.observers))
    coins = rng.random((args.observers, CHECKPOINTS[-1]))
    stimuli_ms = np.geomspace(*settings["soa_range_ms"], args.stimuli)

    results = {}
    seconds = {}
    methods = {
        "ZEST": lambda i: run_zest(thresholds[i], coins[i], settings),
        f"ZEST p={p_star:.2f}": lambda i: run_zest(thresholds[i], coins[i], zest_star),
        "QUEST+": lambda i: run_questplus(thresholds[i], coins[i], settings, stimuli_ms),
    }
    for name, runner in methods.items():
        start = time.process_time()
        runs = [runner(i) for i in range(args.observers)]
        seconds[name] = time.process_time() - start
        results[name] = {n: np.array([r[n] for r in runs]) / thresholds for n in CHECKPOINTS}

    print(f"{args.observers} simulated observers, 75 % thresholds log-uniform 20-200 ms, "
          f"slope {settings['slope']}, lapse {settings['lapse']}, seed {args.seed}")
    print("ZEST: trials at the posterior mean threshold (the box's default); "
          f"ZEST p={p_star:.2f}: at the posterior mean of the most informative SOA "
          f"(P(correct) = {p_star:.3f}); QUEST+: minimum expected entropy, the baseline.")
    print("bias = mean(estimate/true) - 1; geo bias = geometric mean(estimate/true) - 1;\n"
          "SD = SD of ln(estimate/true), about the relative SD\n")
    print(f"{'trials':>6}  {'method':<12} {'bias':>7} {'geo bias':>8} {'SD':>6} "
          f"{'SD / QUEST+ SD':>14}")
    for n in CHECKPOINTS:
        baseline_sd = summary(results["QUEST+"][n])[2]
        for name in methods:
            bias, geo, sd = summary(results[name][n])
            print(f"{n:6d}  {name:<12} {bias:+7.3f} {geo:+8.3f} {sd:6.3f} "
                  f"{sd / baseline_sd:14.3f}")
    print("\nbias by true threshold at 40 trials:")
    for lo, hi in ((20, 30), (30, 80), (80, 200)):
        sel = (thresholds >= lo) & (thresholds < hi)
        cells = "  ".join(f"{name} {summary(results[name][40][sel])[0]:+.3f}" for name in methods)
        print(f"  {lo:3d}-{hi:3d} ms  n={sel.sum():4d}  {cells}")
    per_run = {k: v / args.observers * 1e3 for k, v in seconds.items()}
    cells = ", ".join(f"{name} {ms:.1f} ms ({ms / per_run['QUEST+']:.4f}x)"
                      for name, ms in per_run.items())
    print(f"\nCPU time per {CHECKPOINTS[-1]}-trial run: {cells}")


if __name__ == "__main__":
    main()
