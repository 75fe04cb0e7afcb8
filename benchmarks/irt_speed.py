"""Demand-IRT speed, and other IRT libraries side by side on the same 1PL/2PL data.

Prints, on this machine:

1. the joint fit of 24 subjects x 18,543 items x 18 scales (the sample's size, every pair observed,
   synthetic conjunctive demands), from long-form arrays;
2. the joint fit of a synthetic 1,000 subjects x 100,000 items x 18 scales, 1.5 % of the pairs
   observed (about 1.5M outcomes) — ``--skip-large`` leaves it out;
3. on a 1PL and a 2PL dataset (1,000 subjects x 500 items, complete), our model with no scales
   (the base factor alone = Rasch, item residuals as difficulties) beside girth's rasch_jml,
   onepl_mml and twopl_mml: fit seconds, the ratio to ours, and the correlation of the item
   difficulties with the truth and with ours;
4. adaptive selection: our D-optimal pick of 20 items from a 100k-item 3PL-with-fixed-guessing bank
   against catsim's item information (inf_hpc): time and top-20 overlap.

Times are CPU seconds of this process (``time.process_time``; torch runs one thread), so that a
shared machine's other jobs do not count. Run: ``python benchmarks/irt_speed.py`` (needs ``pip install -e '.[irt-bench]'`` for girth and catsim).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from assess.irt import model as irt
from assess.irt.adaptive import select_items
from assess.irt.synthetic import demands


def _timed(fn):
    """Result and CPU seconds of this process (on a shared machine wall time measures the neighbours)."""
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


def _synthetic_arrays(n_subjects: int, n_items: int, n_scales: int, density: float, seed: int):
    rng = np.random.default_rng(seed)
    items = irt.Items(demands(n_items, n_scales, rng, (2, 4)), irt.guess_floor(rng.choice([75.0, 90.0, 100.0], n_items)))
    truth = irt.Params(theta=rng.uniform(1, 4, (n_subjects, n_scales)), base=np.full(n_subjects, 4.0),
                       residual=np.zeros(n_items), discrimination=rng.uniform(1.5, 3, n_scales),
                       theta_mean=np.full(n_scales, 2.5), base_mean=4.0)
    if density >= 1:
        subject, item = np.repeat(np.arange(n_subjects), n_items), np.tile(np.arange(n_items), n_subjects)
    else:
        n_obs = int(density * n_subjects * n_items)
        pairs = np.unique(rng.integers(0, n_subjects * n_items, n_obs))
        subject, item = pairs // n_items, pairs % n_items
    p = irt.probability(subject, item, items, truth)
    y = (rng.random(len(p)) < p).astype(float)
    return irt.Observations(subject, item, y, np.ones(len(y))), items, truth


def joint_fits(skip_large: bool, max_iter_large: int) -> None:
    cases = [("24 subjects x 18,543 items x 18 scales (dense)", 24, 18_543, 1.0, 500)]
    if not skip_large:
        cases.append(("1,000 subjects x 100,000 items x 18 scales (1.5 % observed)", 1000, 100_000, 0.015, max_iter_large))
    for label, j, i, density, max_iter in cases:
        (obs, items, truth), generate = _timed(lambda: _synthetic_arrays(j, i, 18, density, 0))
        for residual in ("marginal", "none"):
            fit, seconds = _timed(lambda: irt.fit(obs, items, j, residual=residual, max_iter=max_iter))
            mae = np.abs(fit.theta - truth.theta).mean()
            print(f"{label}: {len(obs.subject):,} outcomes; residual={residual}: fit {seconds:.1f} CPU s "
                  f"({fit.iterations} L-BFGS iterations, converged={fit.converged}); theta MAE {mae:.3f} levels "
                  f"(data generated in {generate:.1f} s)", flush=True)


def _rasch_data(n_people: int, n_items: int, two_pl: bool, seed: int):
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1, n_people)
    difficulty = rng.normal(0, 1, n_items)
    discrimination = rng.uniform(0.5, 2.0, n_items) if two_pl else np.ones(n_items)
    p = 1 / (1 + np.exp(-discrimination[:, None] * (theta[None, :] - difficulty[:, None])))
    return (rng.random(p.shape) < p).astype(int), difficulty, discrimination  # items x people, as girth wants


def _ours_rasch(responses: np.ndarray) -> np.ndarray:
    n_items, n_people = responses.shape
    subject, item = np.repeat(np.arange(n_people), n_items), np.tile(np.arange(n_items), n_people)
    obs = irt.Observations(subject, item, responses.T.ravel().astype(float), np.ones(subject.size))
    items = irt.Items(np.zeros((n_items, 0)), np.zeros(n_items))
    fit = irt.fit(obs, items, n_people, residual="joint", priors=irt.Priors(residual_sd=3.0, base_sd=3.0))
    return fit.residual - fit.residual.mean()  # difficulty up to the Rasch location


def libraries() -> None:
    try:
        import girth
    except ImportError:
        print("girth not installed (pip install -e '.[irt-bench]'): library comparison skipped")
        return
    for name, two_pl in (("1PL data", False), ("2PL data", True)):
        responses, difficulty, _ = _rasch_data(1000, 500, two_pl, 1)
        ours, ours_s = _timed(lambda: _ours_rasch(responses))
        print(f"{name} (1,000 people x 500 items): ours (Rasch: base factor + joint item residuals) {ours_s:.2f} s, "
              f"r(difficulty, truth) = {np.corrcoef(ours, difficulty)[0, 1]:.4f}")
        for label, fn in (("girth rasch_jml", girth.rasch_jml), ("girth onepl_mml", girth.onepl_mml),
                          ("girth twopl_mml", girth.twopl_mml)):
            result, seconds = _timed(lambda: fn(responses))
            theirs = np.asarray(result["Difficulty"], float)
            print(f"  {label}: {seconds:.2f} s ({seconds / ours_s:.2f}x ours); r(difficulty, truth) = "
                  f"{np.corrcoef(theirs, difficulty)[0, 1]:.4f}; r(with ours) = {np.corrcoef(theirs, ours)[0, 1]:.4f}",
                  flush=True)


def adaptive_selection() -> None:
    try:
        from catsim.irt import inf_hpc
    except ImportError:
        print("catsim not installed (pip install -e '.[irt-bench]'): selection comparison skipped")
        return
    rng = np.random.default_rng(2)
    n = 100_000
    difficulty, guess = rng.normal(0, 1.5, n), rng.choice([0.0, 0.1, 0.25], n)
    items = irt.Items(np.zeros((n, 0)), guess)
    theta = 0.7
    (ours, _), ours_s = _timed(lambda: select_items(items, np.zeros(0), theta, difficulty, np.zeros(0),
                                                    np.eye(1), 20))
    bank = np.column_stack([np.ones(n), difficulty, guess, np.ones(n)])
    info, catsim_s = _timed(lambda: inf_hpc(theta, bank))
    top = np.argsort(-info)[:20]
    print(f"adaptive selection, 100,000-item bank, 20 items: ours {ours_s:.3f} s, catsim inf_hpc + argsort "
          f"{catsim_s:.3f} s ({catsim_s / ours_s:.2f}x ours); top-20 overlap {len(set(ours) & set(top))}/20 "
          "(one dimension: D-optimal = maximum Fisher information)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-large", action="store_true", help="leave out the 1,000 x 100,000 fit")
    parser.add_argument("--max-iter-large", type=int, default=300, help="L-BFGS iterations for the large fit")
    args = parser.parse_args()
    adaptive_selection()
    libraries()
    joint_fits(args.skip_large, args.max_iter_large)


if __name__ == "__main__":
    main()
