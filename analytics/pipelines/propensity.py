"""Training the learner propensity models as a pipeline run: snapshots at cut-offs, three
candidates per target (logistic, logistic GAM, gradient boosting), with two baselines beside them
(the fixed weighted-score rules, e.g. recency 30% / engagement 25% for enrolment, and the
simulator's oracle, its true probabilities), and the price-sensitivity score; the chosen candidate
of each target is promoted."""

from __future__ import annotations

import time
from datetime import timedelta

import pandas as pd

from analytics.pipelines.spec import PipelineSpec, StageContext, require_enough, stages_by_name
from analytics.reports.propensity import build_propensity_report
from analytics.services.registry import NewVersion, promote_version, register_model_versions
from learners import selectors
from learners.ml.propensity import choose, fit_candidates
from learners.ml.snapshot import FEATURES, SENSITIVITY_WEIGHTS, price_sensitivity_scores
from learners.ml.training import (
    LONGEST_WINDOW,
    TARGETS,
    TRUTH_COLUMNS,
    evaluate_target,
    fraction_of_oracle,
    plan_cutoffs,
    sensitivity_agreement,
    snapshot,
    stack,
)
from learners.services.truth import load_learner_truth

DEFAULTS = {"training_cutoffs": 6, "spacing_days": 14, "seed": 0}
PROPENSITY_TITLE = "learner models"
# The least data worth fitting three candidates per target on: learners to describe, learners who
# bought, and of each label (a target that happened, and did not) in the training snapshots.
MIN_LEARNERS = 100
MIN_BUYING_LEARNERS = 20
MIN_LABELS_PER_CLASS = 10
# A cut-off needs this much history before it to describe learners by (learners.ml.training).
HISTORY_DAYS = 30
SENSITIVITY_MODEL = "price_sensitivity"


def _params(ctx: StageContext) -> dict:
    return {**DEFAULTS, **ctx.params}


def stage_data(ctx: StageContext) -> dict:
    tables = {
        "learners": selectors.learner_frame(),
        "enrollments": selectors.enrollment_frame(),
        "activity": selectors.activity_frame(),
        "wallet": selectors.wallet_frame(),
    }
    if tables["learners"].empty or tables["enrollments"].empty:
        require_enough(
            title=PROPENSITY_TITLE,
            shortfalls=["there are no learners or enrollments (load or simulate data first)"],
        )
    enrolled = tables["enrollments"]["enrolled_at"].dt.date
    days = pd.to_datetime(tables["activity"]["day"]).dt.date
    first = min(enrolled.min(), days.min()) if len(days) else enrolled.min()
    last = max(enrolled.max(), days.max()) if len(days) else enrolled.max()
    require_enough(
        title=PROPENSITY_TITLE, shortfalls=propensity_shortfalls(tables, first, last, _params(ctx))
    )
    ctx.save("tables", {**tables, "first": first, "last": last})
    return {name: len(frame) for name, frame in tables.items()} | {"window": [str(first), str(last)]}


def propensity_shortfalls(tables: dict, first, last, params: dict) -> list[str]:
    """What the tables lack for a propensity run, each with the minimum needed ([] when enough)."""
    shortfalls = []
    span = (last - first).days + 1
    # Each target needs its label window after the evaluation cut-off, its calibration window,
    # one training cut-off's spacing and the history before that cut-off.
    needed = LONGEST_WINDOW + max(w for _, w in TARGETS.values()) + params["spacing_days"] + HISTORY_DAYS
    if span < needed:
        shortfalls.append(f"{span} days of enrollments and activity, at least {needed} needed")
    learners = len(tables["learners"])
    if learners < MIN_LEARNERS:
        shortfalls.append(f"{learners} learners, at least {MIN_LEARNERS} needed")
    buyers = tables["enrollments"]["learner_id"].nunique()
    if buyers < MIN_BUYING_LEARNERS:
        shortfalls.append(f"{buyers} learners with an enrollment, at least {MIN_BUYING_LEARNERS} needed")
    return shortfalls


def label_shortfalls(snapshots: dict, plan) -> list[str]:
    """Targets whose training snapshots hold too few of either label to learn from."""
    shortfalls = []
    for target in TARGETS:
        _, labels = stack(snapshots, plan.training[target], target)
        positives = int(labels.sum())
        negatives = len(labels) - positives
        if min(positives, negatives) < MIN_LABELS_PER_CLASS:
            shortfalls.append(
                f"{target}: {positives} positive and {negatives} negative labels in the training "
                f"snapshots, at least {MIN_LABELS_PER_CLASS} of each needed"
            )
    return shortfalls


def stage_understanding(ctx: StageContext) -> dict:
    tables = ctx.load("tables")
    params = _params(ctx)
    plan = plan_cutoffs(
        data_end=tables["last"] + timedelta(days=1),
        first_day=tables["first"],
        training_cutoffs=params["training_cutoffs"],
        spacing_days=params["spacing_days"],
    )
    ctx.save("plan", plan)
    enrollments = tables["enrollments"]
    per_learner = enrollments.groupby("learner_id").size()
    return {
        "evaluation_cutoff": str(plan.evaluation),
        "calibration_cutoffs": {k: str(v) for k, v in plan.calibration.items()},
        "training_cutoffs": {k: [str(c) for c in v] for k, v in plan.training.items()},
        "learners_with_enrollments": int(len(per_learner)),
        "enrollments_per_buying_learner": round(float(per_learner.mean()), 2),
        "discounted_share": round(float((enrollments["discount_pct"] > 0).mean()), 3),
    }


def stage_preparation(ctx: StageContext) -> dict:
    tables, plan = ctx.load("tables"), ctx.load("plan")
    snapshots = {}
    cutoffs = plan.all_cutoffs()
    for i, cutoff in enumerate(cutoffs):
        ctx.progress(i / len(cutoffs), f"snapshot at {cutoff}")
        snapshots[cutoff] = snapshot(tables, cutoff)
    require_enough(title=PROPENSITY_TITLE, shortfalls=label_shortfalls(snapshots, plan))
    sensitivity = price_sensitivity_scores(
        tables["enrollments"], cutoff=plan.evaluation, wallet=tables["wallet"], activity=tables["activity"]
    )
    ctx.save("snapshots", {"snapshots": snapshots, "sensitivity": sensitivity})
    return {
        "cutoffs": len(cutoffs),
        "rows": {str(c): len(snapshots[c][0]) for c in cutoffs},
        "label_rates_at_evaluation": {
            k: round(float(snapshots[plan.evaluation][1][k].mean()), 4) for k in TARGETS
        },
        "features": FEATURES,
    }


def stage_training(ctx: StageContext) -> dict:
    plan, data = ctx.load("plan"), ctx.load("snapshots")
    snapshots, seed = data["snapshots"], _params(ctx)["seed"]
    fitted, seconds = {}, {}
    for i, target in enumerate(TARGETS):
        ctx.progress(i / len(TARGETS), f"fitting {target}")
        started = time.perf_counter()
        features, labels = stack(snapshots, plan.training[target], target)
        calibration_features, calibration_labels = (
            snapshots[plan.calibration[target]][0],
            snapshots[plan.calibration[target]][1][target],
        )
        fitted[target] = fit_candidates(
            features,
            labels,
            calibration_features=calibration_features,
            calibration_labels=calibration_labels,
            seed=seed,
        )
        seconds[target] = round(time.perf_counter() - started, 2)
    ctx.save("models", fitted)
    return {"fit_seconds": seconds}


def stage_evaluation(ctx: StageContext) -> dict:
    plan, data, fitted = ctx.load("plan"), ctx.load("snapshots"), ctx.load("models")
    features, labels = data["snapshots"][plan.evaluation]
    truth = load_learner_truth(plan.evaluation)
    evaluation = {"targets": {}, "selection_rule": choose.__doc__.split("\n\n")[0].replace("\n", " ")}
    for target, candidates in fitted.items():
        truth_column = TRUTH_COLUMNS.get(target)
        metrics = evaluate_target(
            target=target,
            candidates=candidates,
            features=features,
            labels=labels[target],
            truth=truth[truth_column] if truth is not None and truth_column else None,
        )
        best, _ = choose(candidates, features, labels[target])
        metrics["selected"] = best
        metrics["share_of_oracle_auc"] = fraction_of_oracle(metrics, best) if "oracle" in metrics else None
        evaluation["targets"][target] = metrics
    evaluation["price_sensitivity"] = (
        sensitivity_agreement(data["sensitivity"], truth["price_sensitivity"]) if truth is not None else {}
    )
    evaluation["truth_available"] = truth is not None
    ctx.save("evaluation", evaluation)
    return {
        target: {"selected": m["selected"], "roc_auc": round(m["candidates"][m["selected"]]["roc_auc"], 4)}
        for target, m in evaluation["targets"].items()
    }


def stage_report(ctx: StageContext) -> dict:
    plan, fitted, evaluation = ctx.load("plan"), ctx.load("models"), ctx.load("evaluation")
    report_json, report_html = build_propensity_report(evaluation=evaluation, plan=plan)
    registered = {}
    for target, candidates in fitted.items():
        name, _ = TARGETS[target]
        metrics = evaluation["targets"][target]
        versions = [
            NewVersion(
                algorithm=algorithm,
                artifact=model,
                params={"target": target, "calibration": list(model.calibration)},
                features=model.features,
                metrics={
                    **metrics["candidates"][algorithm],
                    "evaluation_cutoff": str(plan.evaluation),
                    "seed_rule_roc_auc": metrics.get("seed_rule", {}).get("roc_auc"),
                    "oracle_roc_auc": metrics.get("oracle", {}).get("roc_auc"),
                },
                data_start=min(plan.training[target]),
                data_end=plan.calibration[target],
                selected=algorithm == metrics["selected"],
            )
            for algorithm, model in candidates.items()
        ]
        rows = register_model_versions(name=name, versions=versions, run=ctx.run)
        winner = next(v for v in rows if v.selected)
        promote_version(version=winner)
        registered[name] = winner.version
    sensitivity = register_model_versions(
        name=SENSITIVITY_MODEL,
        versions=[
            NewVersion(
                algorithm="weighted_rank_score",
                artifact={"weights": SENSITIVITY_WEIGHTS},
                params={"weights": SENSITIVITY_WEIGHTS},
                features=list(SENSITIVITY_WEIGHTS),
                metrics=evaluation["price_sensitivity"],
                data_end=plan.evaluation,
                selected=True,
            )
        ],
        run=ctx.run,
    )
    promote_version(version=sensitivity[0])
    registered[SENSITIVITY_MODEL] = sensitivity[0].version
    report_json["production_versions"] = registered
    return {"report": report_json, "report_html": report_html}


def _fingerprint(params: dict) -> str:
    return str(sorted(selectors.data_signature().items())) + str(sorted({**DEFAULTS, **params}.items()))


PROPENSITY = PipelineSpec(
    kind="propensity",
    title=PROPENSITY_TITLE,
    stages=stages_by_name(
        stage_data, stage_understanding, stage_preparation, stage_training, stage_evaluation, stage_report
    ),
    fingerprint=_fingerprint,
    defaults=DEFAULTS,
    then="learners.score_learners",
)
