"""Learner models against the simulator's truth: propensity AUC beside the oracle and the fixed
rules, offer policies' incremental revenue, recommendations against popularity, and speed.

    .venv/bin/python manage.py simulate --flush --seed 42
    .venv/bin/python manage.py train --sync && .venv/bin/python manage.py recommend_prices
    .venv/bin/python bench/bench_learners.py         # uses db.sqlite3 (or DATABASE_URL)

It trains the propensity models (a pipeline run, timed), scores every learner, and then prints:
per target the selected model's ROC AUC, calibration error and share of the oracle's AUC (the
simulator's true probabilities on the same learners at the same forward cut-off), with the fixed
weighted-score rule beside it; the true incremental token revenue of three offer policies on
each learner's top recommended course (ours, the fixed 5/10/20% +10% rule, and the oracle
that knows the true purchase probabilities); and precision@10, recall@10 and coverage of the
hybrid recommender and of popularity alone on the last 30 days' enrollments.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def propensity(force: bool) -> None:
    from analytics.services.pipeline import start_pipeline_run
    from analytics.services.registry import clear_model_cache

    started = time.perf_counter()
    run = start_pipeline_run(kind="propensity", sync=True, force=force)
    seconds = time.perf_counter() - started
    if run.status != "succeeded":
        raise SystemExit(f"propensity run {run.pk} failed:\n{run.error}")
    clear_model_cache()
    report = run.report["report"]
    print(
        f"propensity pipeline: run {run.pk}, {seconds:.1f} s,"
        f" evaluation cut-off {report['evaluation_cutoff']}"
    )
    print(
        f"  {'target':<14} {'selected':<18} {'AUC':>7} {'calib':>7}"
        f" {'rule AUC':>9} {'oracle':>7} {'share':>7}"
    )
    for target, t in report["targets"].items():
        rows = {r["model"]: r for r in t["models"]}
        mine = rows[t["selected"]]
        rule = rows.get("seed_rule", {}).get("roc_auc")
        oracle = rows.get("oracle", {}).get("roc_auc")
        share = t["share_of_oracle_auc"]
        rule, oracle = ("-" if v is None else f"{v:.4f}" for v in (rule, oracle))
        share = "-" if share is None else f"{share:.1%}"
        print(
            f"  {target:<14} {t['selected']:<18} {mine['roc_auc']:7.4f} {mine['calibration_error']:7.4f}"
            f" {rule:>9} {oracle:>7} {share:>7}"
        )
    sensitivity = report["price_sensitivity"]
    if sensitivity.get("spearman") is not None:
        print(f"  price sensitivity score: Spearman {sensitivity['spearman']:.3f} with the true sensitivity")


def scoring_and_offers() -> None:
    import numpy as np

    from learners.ml.offers import LADDER, fixed_rule_discounts
    from learners.services.offer_policy import plan_offers
    from learners.services.scoring import score_all_learners
    from tokenecon.simulator.truth_queries import offer_purchase_probability

    started = time.perf_counter()
    result = score_all_learners()
    print(
        f"scoring: {result['scored']} learners in {time.perf_counter() - started:.2f} s;"
        f" segments {result['segments']}"
    )
    started = time.perf_counter()
    plan = plan_offers()
    print(f"offer plan: {len(plan)} learners in {time.perf_counter() - started:.2f} s")
    learners, courses = plan["learner_id"].to_numpy(), plan["course_id"].to_numpy()
    price = plan["price_tokens"].to_numpy(float)
    true_p = np.stack(
        [offer_purchase_probability(learners, courses, np.full(len(plan), d)) for d in LADDER], 1
    )
    gain = true_p * price[:, None] * (1 - LADDER[None, :]) - true_p[:, :1] * price[:, None]

    def realised(discounts: np.ndarray) -> float:
        steps = np.searchsorted(LADDER, np.round(discounts, 4))
        return float(gain[np.arange(len(plan)), steps].sum())

    policies = {
        "ours (model)": plan["discount"].to_numpy(),
        "fixed rule": np.minimum(
            fixed_rule_discounts(propensity=plan["enroll_prob"], sensitivity=plan["price_sensitivity"]),
            LADDER[-1],
        ),
        "oracle": LADDER[np.argmax(gain, axis=1)],
    }
    oracle = realised(policies["oracle"])
    base = float((true_p[:, 0] * price).sum())
    print(
        "offers on each learner's top recommended course"
        f" (true revenue without offers {base:,.0f} tokens / 30 days):"
    )
    for name, discounts in policies.items():
        value = realised(discounts)
        print(
            f"  {name:<13} incremental {value:+10,.1f} tokens  ({value / oracle:6.1%} of oracle)"
            f"  offers to {np.mean(discounts > 0):5.1%} of learners, mean discount {np.mean(discounts):.1%}"
        )


def recommendations() -> None:
    from learners import selectors
    from learners.ml.suggest import build_state, evaluate

    enrollments = selectors.enrollment_frame()
    cutoff = (enrollments["enrolled_at"].max() - timedelta(days=30)).date()
    state = build_state(
        learners=selectors.learner_frame(),
        courses=selectors.course_frame(),
        enrollments=enrollments,
        cutoff=cutoff,
    )
    held_out = enrollments[enrollments["enrolled_at"].dt.date >= cutoff]
    print(f"recommendations on the enrollments after {cutoff} ({held_out['learner_id'].nunique()} learners):")
    for name, weights in (("hybrid", None), ("popularity only", {"popularity": 1.0})):
        started = time.perf_counter()
        m = evaluate(state, held_out, k=10, weights=weights)
        print(
            f"  {name:<16} precision@10 {m['precision_at_k']:.4f}  recall@10 {m['recall_at_k']:.4f}"
            f"  coverage {m['coverage']:.3f}  ({time.perf_counter() - started:.1f} s)"
        )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenecon.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from tokenecon.simulator.truth_model import load_simulation_truth

    if load_simulation_truth() is None:
        raise SystemExit("No simulator truth for this database: run `manage.py simulate` first.")
    propensity(force="--force" in sys.argv)
    scoring_and_offers()
    recommendations()


if __name__ == "__main__":
    main()
