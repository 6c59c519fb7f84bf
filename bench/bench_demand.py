"""Demand-model training time and accuracy on a database of simulated (or real) data.

    .venv/bin/python manage.py simulate --seed 42 --flush --truth-out var/truth   # or make run once
    .venv/bin/python bench/bench_demand.py                       # uses db.sqlite3 (or DATABASE_URL)

Runs the full demand pipeline in this process (forcing a new run) and prints each stage's time,
each model's fit time, held-out metrics and, where the simulator's truth exists, the elasticity
error per category against it, beside the naive cross-sectional regression.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenecon.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from analytics.services.pipeline import start_pipeline_run

    started = time.perf_counter()
    run = start_pipeline_run(kind="demand", sync=True, force=True)
    total = time.perf_counter() - started
    if run.status != "succeeded":
        print(run.error)
        raise SystemExit(1)
    stages = {s["name"]: s["seconds"] for s in run.stages}
    print(f"pipeline total: {total:.1f} s")
    for name, seconds in stages.items():
        print(f"  {name:<14} {seconds:6.2f} s")
    print(
        f"seven models + evaluation + selection (training + evaluation stages): "
        f"{stages['training'] + stages['evaluation']:.1f} s"
    )
    nan = float("nan")

    def number(value):
        return nan if value is None else value

    report = run.report["report"]
    evaluation = run.report["evaluation"]
    print(f"\nselected: {report['selected']}  ({report['rule']})")
    header = (
        f"{'model':<18} {'fit s':>6} {'deviance':>9} {'RMSE':>6} {'R2':>6} {'cv dev':>8} "
        f"{'MAE truth':>9} {'max err':>8}"
    )
    print(header)
    for row in report["models"]:
        print(
            f"{row['model']:<18} {number(row['fit_seconds']):6.2f} "
            f"{number(row['holdout_poisson_deviance']):9.4f} "
            f"{number(row['holdout_rmse']):6.3f} {number(row['holdout_r2']):6.3f} "
            f"{number(row['course_cv_poisson_deviance']):8.4f} {number(row.get('truth_category_mae')):9.3f} "
            f"{number(row.get('truth_category_max_abs_error')):8.3f}"
        )
    truth = report.get("truth_category_elasticity")
    if truth:
        print(
            "\ncategory        truth  "
            + "  ".join(f"{m[:8]:>8}" for m in evaluation["candidates"])
            + "     naive"
        )
        for category, true_value in sorted(truth.items()):
            estimates = "  ".join(
                f"{c['category_elasticities'].get(category, float('nan')):8.3f}"
                for c in evaluation["candidates"].values()
            )
            naive = evaluation["naive"].get(category, nan)
            print(f"{category:<14} {true_value:6.3f}  {estimates}  {naive:8.3f}")
        print(f"naive baseline MAE vs truth: {report['naive_truth_mae']:.3f}")
        final = report.get("selected_truth") or {}
        print(
            "selected model refitted on every week (production): elasticity MAE "
            f"{final.get('category_mae', nan):.3f}, "
            f"max {final.get('category_max_abs_error', nan):.3f}; errors "
            + ", ".join(f"{k} {v:+.2f}" for k, v in sorted(final.get("category_errors", {}).items()))
        )
        shape = final.get("curve_shape_error_median", nan)
        print(f"demand-curve shape error (median over courses): {shape:.3f}")
        noise_floor(report.get("selected_category_elasticities") or [], final.get("category_errors", {}))


def noise_floor(intervals: list[dict], errors: dict[str, float], *, draws: int = 200_000) -> None:
    """How close any unbiased estimator with the selected model's standard errors can be expected
    to come: the errors of the selected model in standard errors, and the chance that normal
    errors of those sizes keep every category within 0.15 and the mean within 0.10 (the issue's bar).
    """
    import numpy as np

    if not intervals or not errors:
        return
    se = {r["category"]: (r["upper"] - r["lower"]) / (2 * 1.959963984540054) for r in intervals}
    names = [c for c in se if c in errors]
    sizes = np.array([se[c] for c in names])
    print("\ncategory        error     SE  error/SE")
    for c in names:
        print(f"{c[:14]:<14} {errors[c]:+6.3f} {se[c]:6.3f} {errors[c] / se[c]:+8.2f}")
    noise = np.abs(np.random.default_rng(0).normal(size=(draws, len(sizes))) * sizes)
    within = noise.max(axis=1) < 0.15
    mean_ok = noise.mean(axis=1) < 0.10
    print(
        f"noise floor (unbiased, these SEs): expected largest error {noise.max(axis=1).mean():.3f}, "
        f"expected MAE {noise.mean(axis=1).mean():.3f}; P(each within 0.15) {within.mean():.2f}, "
        f"P(MAE < 0.10) {mean_ok.mean():.2f}, P(both) {(within & mean_ok).mean():.2f}"
    )


if __name__ == "__main__":
    main()
