"""Price advice: optimise the catalog on the production demand model and store one pending
recommendation per course, and the advice runs that do it in the background with the progress
the staff page polls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pricing.ml.confidence import AdviceJudgement, judge_advice
from pricing.ml.optimizer import (
    SUPPORT_FACTOR,
    Z_95,
    Guardrails,
    add_intervals,
    expected_enrollments_at,
    objective_values,
    optimise_prices,
)
from pricing.ml.strategies import (
    bundle_strategy,
    combine,
    competitive_strategy,
    elasticity_strategy,
    lifecycle_strategy,
    time_based_strategy,
)
from pricing.models import AdviceRun, PriceRecommendation, PricingSettings
from pricing.selectors import dismissed_advice, last_price_change_days, pricing_settings
from pricing.services.bundles import course_bundles
from pricing.services.model_source import ProductionDemand, course_rows, production_demand

# The task that runs an advice run, queued by name: the task module imports this one.
ADVICE_TASK = "pricing.compute_price_recommendations"
# Courses optimised per step of an advice run; progress is reported after each.
ADVICE_CHUNK_COURSES = 250
# A category without an elasticity interval gets this standard error on its elasticity.
DEFAULT_ELASTICITY_SE = 0.3

ProgressCallback = Callable[[int, int], None]  # (courses done, courses in all)


def commission_rate() -> float:
    return float(settings.TOKEN_COMMISSION_RATE)


def guardrails(*, on: bool = True, config: PricingSettings | None = None) -> Guardrails:
    config = config or pricing_settings()
    return Guardrails(
        min_price=float(settings.TOKEN_PRICE_MIN),
        max_price=float(settings.TOKEN_PRICE_MAX),
        max_change_pct=float(config.max_change_pct) if on else None,
    )


def elasticity_se(demand: ProductionDemand, rows: pd.DataFrame) -> np.ndarray:
    """Each course's standard error on its category's elasticity, from the model's 95% interval."""
    table = demand.artifact.category_elasticities.set_index("category")
    se = ((table["upper"] - table["lower"]) / (2 * Z_95)).fillna(DEFAULT_ELASTICITY_SE)
    return rows["category"].astype(str).map(se).fillna(DEFAULT_ELASTICITY_SE).to_numpy(dtype=float)


def optimise_catalog(
    *,
    course_ids: list[int] | None = None,
    objective: str | None = None,
    guardrails_on: bool = True,
    today: date | None = None,
    demand: ProductionDemand | None = None,
    on_progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Recommendations for many courses, ``ADVICE_CHUNK_COURSES`` at a time in vectorised model
    calls (each course's figures depend on its own row only, so the chunks change no number)."""
    config = pricing_settings()
    demand = demand or production_demand()
    rows = course_rows(demand, course_ids)
    if rows.empty:
        return pd.DataFrame()
    today = today or timezone.now().date()
    # Bundles pair courses across chunks, so they are found once for the whole selection.
    bundles = course_bundles(rows, demand) if config.bundles_active else {}
    changed_on = last_price_change_days(course_ids=[int(c) for c in rows["course_id"]])
    parts = []
    for start in range(0, len(rows), ADVICE_CHUNK_COURSES):
        chunk = rows.iloc[start : start + ADVICE_CHUNK_COURSES].reset_index(drop=True)
        parts.append(
            recommend_rows(
                chunk,
                demand=demand,
                config=config,
                objective=objective or config.objective,
                guardrails_on=guardrails_on,
                today=today,
                bundles=bundles,
                changed_on=changed_on,
            )
        )
        if on_progress is not None:
            on_progress(start + len(chunk), len(rows))
    return pd.concat(parts, ignore_index=True)


def recommend_rows(
    rows: pd.DataFrame,
    *,
    demand: ProductionDemand,
    config: PricingSettings,
    objective: str,
    guardrails_on: bool,
    today: date | None,
    bundles: dict[int, dict],
    changed_on: dict[int, date] | None = None,
) -> pd.DataFrame:
    """The recommendation for each course row (index 0..n-1): the model's optimum within the
    guardrails, moved by the active strategies, judged for confidence, with the expected
    enrollments, revenue and teacher earnings at the current and recommended prices."""
    rate = commission_rate()
    rails = guardrails(on=guardrails_on, config=config)
    result = optimise_prices(
        demand.artifact.model,
        rows,
        guardrails=rails,
        objective=objective,
        commission_rate=rate,
        floors=rows["floor"].to_numpy(),
    )
    enrollments_to_date = np.expm1(rows["log_enrollments_to_date"].to_numpy(dtype=float))
    se = elasticity_se(demand, rows)
    result = add_intervals(result, enrollments_to_date=enrollments_to_date, elasticity_se=se)
    caps = guardrail_caps(rows, result, demand=demand, rails=rails, objective=objective, commission_rate=rate)
    today = today or timezone.now().date()
    final_prices, breakdowns, confidences, reasons, capped_by = [], [], [], [], []
    for i, row in rows.iterrows():
        r = result.iloc[i]
        optimum = float(r["recommended_price"])
        adjustments = [
            elasticity_strategy(
                optimum=optimum, current=r["current_price"], elasticity=r["elasticity_current"]
            ),
            competitive_strategy(
                optimum=optimum,
                category_average=float(np.exp(row["log_category_avg_price"])),
                active=config.competitive_active,
                weight=config.competitive_weight,
            ),
            lifecycle_strategy(
                optimum=optimum,
                age_weeks=float(row["course_age_weeks"]),
                active=config.lifecycle_active,
                weight=config.lifecycle_weight,
            ),
            time_based_strategy(
                optimum=optimum, today=today, active=config.time_based_active, weight=config.time_based_weight
            ),
            bundle_strategy(bundle=bundles.get(int(row["course_id"])), active=config.bundles_active),
        ]
        judgement = judge_advice(
            figures=r,
            price=combine(optimum, adjustments, r["lower_bound"], r["upper_bound"]),
            enrollments_to_date=enrollments_to_date[i],
            min_enrollments_for_advice=config.min_enrollments_for_advice,
            cautious=guardrails_on,
        )
        cap = caps[i] if judgement.price == optimum else None
        if guardrails_on:
            cooled = cooled_down(
                judgement,
                current=float(r["current_price"]),
                changed_on=(changed_on or {}).get(int(row["course_id"])),
                today=today,
                cooldown_days=config.cooldown_days,
            )
            if cooled is not judgement:
                cap = {
                    "name": "cool-down",
                    "text": f"held at {float(r['current_price']):.0f} tokens by the "
                    f"{config.cooldown_days}-day cool-down after the last price change",
                }
            judgement = cooled
        if cap is not None and cap["name"] != "cool-down":
            judgement = AdviceJudgement(
                judgement.confidence,
                f"{judgement.reason} The model's best price lies beyond: {cap['text']}.",
                judgement.price,
            )
        capped_by.append(cap)
        final_prices.append(judgement.price)
        breakdowns.append([a.as_dict() for a in adjustments])
        confidences.append(judgement.confidence)
        reasons.append(judgement.reason)
    result["model_optimal_price"] = result["recommended_price"]
    result["recommended_price"] = final_prices
    result["strategies"] = breakdowns
    result["confidence"] = confidences
    result["reason"] = reasons
    result["guardrail"] = capped_by
    result["code"] = rows["code"].to_numpy()
    result["category"] = rows["category"].astype(str).to_numpy()
    # Where caution kept the current price, the current price's figures apply; where strategies
    # moved the price elsewhere, evaluate the model there.
    kept = (result["recommended_price"] == result["current_price"]) & (
        result["recommended_price"] != result["model_optimal_price"]
    )
    for column in ("expected_enrollments", "elasticity", "expected_revenue"):
        result.loc[kept, f"{column}_recommended"] = result.loc[kept, f"{column}_current"]
    moved = (result["recommended_price"] != result["model_optimal_price"]) & ~kept
    if kept.any() and not moved.any():
        result = add_intervals(result, enrollments_to_date=enrollments_to_date, elasticity_se=se)
    if moved.any():
        sub = rows[moved.to_numpy()]
        q = expected_enrollments_at(
            demand.artifact.model, sub, result.loc[moved, ["recommended_price"]].to_numpy()
        )[:, 0]
        result.loc[moved, "expected_enrollments_recommended"] = q
        result.loc[moved, "expected_revenue_recommended"] = q * result.loc[moved, "recommended_price"]
        result.loc[moved, "elasticity_recommended"] = demand.artifact.model.elasticity(
            sub, result.loc[moved, "recommended_price"].to_numpy()
        )
        result = add_intervals(result, enrollments_to_date=enrollments_to_date, elasticity_se=se)
    result["teacher_earnings_current"] = result["expected_revenue_current"] * (1 - rate)
    result["teacher_earnings_recommended"] = result["expected_revenue_recommended"] * (1 - rate)
    result["objective"] = objective
    result["model_version"] = demand.version
    result["model_algorithm"] = demand.algorithm
    return result


def guardrail_caps(
    rows: pd.DataFrame,
    result: pd.DataFrame,
    *,
    demand: ProductionDemand,
    rails: Guardrails,
    objective: str,
    commission_rate: float,
) -> list[dict | None]:
    """For each course, the guardrail that stopped the optimiser (``{"name", "text"}``), or None:
    the model's price sits at a bound and the objective still grows 5% beyond it. The bound's
    guardrail is the one that set it: the step limit, the platform's lowest or highest price, the
    teacher's floor, or the prices the course has had (the curve is trusted within 1.5x of them)."""
    current = result["current_price"].to_numpy(dtype=float)
    price = result["recommended_price"].to_numpy(dtype=float)
    low = result["lower_bound"].to_numpy(dtype=float)
    high = result["upper_bound"].to_numpy(dtype=float)
    probe = np.column_stack([price, low * 0.95, high * 1.05])
    values = objective_values(
        objective, probe, expected_enrollments_at(demand.artifact.model, rows, probe), commission_rate
    )
    step = rails.max_change_pct
    floor = rows["floor"].to_numpy(dtype=float)
    observed_low = rows.get("observed_min_price", pd.Series(np.nan, index=rows.index)).to_numpy(dtype=float)
    observed_high = rows.get("observed_max_price", pd.Series(np.nan, index=rows.index)).to_numpy(dtype=float)
    caps: list[dict | None] = []
    for i in range(len(rows)):
        at_high = price[i] >= np.floor(high[i]) and values[i, 2] > values[i, 0] * 1.0001
        at_low = price[i] <= np.ceil(low[i]) and values[i, 1] > values[i, 0] * 1.0001
        if high[i] - low[i] < 1 or not (at_high or at_low):
            caps.append(None)
            continue
        if at_high:
            options = [
                (
                    "platform ceiling",
                    rails.max_price,
                    f"capped at {rails.max_price:.0f} tokens, the platform's highest price",
                )
            ]
            if step is not None:
                options.append(
                    ("step limit", current[i] * (1 + step / 100), f"capped at +{step:.0f}% by the step limit")
                )
            if not np.isnan(observed_high[i]):
                options.append(
                    (
                        "observed prices",
                        max(observed_high[i] * SUPPORT_FACTOR, current[i]),
                        f"capped at {high[i]:.0f} tokens: the demand curve is trusted only up to "
                        f"{SUPPORT_FACTOR:g}x the highest price this course has had",
                    )
                )
            name, _, text = min(options, key=lambda option: option[1])
        else:
            options = [
                (
                    "platform floor",
                    rails.min_price,
                    f"held at {rails.min_price:.0f} tokens, the platform's lowest price",
                )
            ]
            if not np.isnan(floor[i]):
                options.append(
                    ("teacher's floor", floor[i], f"held at the teacher's floor of {floor[i]:.0f} tokens")
                )
            if step is not None:
                options.append(
                    ("step limit", current[i] * (1 - step / 100), f"capped at −{step:.0f}% by the step limit")
                )
            if not np.isnan(observed_low[i]):
                options.append(
                    (
                        "observed prices",
                        min(observed_low[i] / SUPPORT_FACTOR, current[i]),
                        f"held at {low[i]:.0f} tokens: the demand curve is trusted only down to the "
                        f"lowest price this course has had divided by {SUPPORT_FACTOR:g}",
                    )
                )
            name, _, text = max(options, key=lambda option: option[1])
        caps.append({"name": name, "text": text})
    return caps


def cooled_down(
    judgement: AdviceJudgement, *, current: float, changed_on: date | None, today: date, cooldown_days: int
) -> AdviceJudgement:
    """Keep a price that changed less than ``cooldown_days`` ago: a second step before the first
    one's effect shows in the enrollments would compound an error (20% down, then 20% again)."""
    if changed_on is None or judgement.price == current or cooldown_days <= 0:
        return judgement
    next_change = changed_on + timedelta(days=cooldown_days)
    if today >= next_change:
        return judgement
    return AdviceJudgement(
        "low",
        f"The price changed on {changed_on:%Y-%m-%d}; the next change waits until {next_change:%Y-%m-%d} "
        f"({cooldown_days}-day cool-down) so the first one's effect can be measured. "
        f"Keep {current:.0f} tokens.",
        current,
    )


def still_dismissed(*, dismissed: PriceRecommendation | None, advice: dict, tolerance_pct: float) -> bool:
    """New advice repeats a dismissed one when the model version and the course's price are the
    same and it proposes nearly the same price: then the teacher's "no" still stands."""
    if dismissed is None or int(advice["recommended_price"]) == int(advice["current_price"]):
        return False
    return (
        dismissed.model_version == int(advice["model_version"])
        and dismissed.current_price_tokens == int(advice["current_price"])
        and abs(int(advice["recommended_price"]) - dismissed.recommended_price_tokens)
        <= dismissed.recommended_price_tokens * tolerance_pct / 100
    )


INTERVAL_COLUMNS = (
    "enrollments_current_low",
    "enrollments_current_high",
    "enrollments_recommended_low",
    "enrollments_recommended_high",
    "revenue_change_pct",
    "revenue_change_pct_low",
    "revenue_change_pct_high",
)


def _stored_recommendation(r: dict) -> PriceRecommendation:
    return PriceRecommendation(
        course_id=r["course_id"],
        model_version=r["model_version"],
        model_algorithm=r["model_algorithm"],
        objective=r["objective"],
        current_price_tokens=int(r["current_price"]),
        recommended_price_tokens=int(r["recommended_price"]),
        model_optimal_price_tokens=int(r["model_optimal_price"]),
        expected_enrollments_current=float(r["expected_enrollments_current"]),
        expected_enrollments_recommended=float(r["expected_enrollments_recommended"]),
        expected_revenue_current=float(r["expected_revenue_current"]),
        expected_revenue_recommended=float(r["expected_revenue_recommended"]),
        teacher_earnings_current=float(r["teacher_earnings_current"]),
        teacher_earnings_recommended=float(r["teacher_earnings_recommended"]),
        elasticity_current=float(r["elasticity_current"]),
        elasticity_recommended=float(r["elasticity_recommended"]),
        confidence=r["confidence"],
        reason=r["reason"],
        details={
            "strategies": r["strategies"],
            "bounds": [float(r["lower_bound"]), float(r["upper_bound"])],
            "intervals": {k: float(r[k]) for k in INTERVAL_COLUMNS},
            # The guardrail that held the price back from the model's best, if one did.
            "guardrail": r.get("guardrail"),
        },
    )


def compute_recommendations(
    *, course_ids: list[int] | None = None, on_progress: ProgressCallback | None = None
) -> int:
    """Store a fresh pending recommendation for every course (the previous pending ones are
    superseded) and return how many were stored. The optimisation reports ``on_progress`` as it
    goes; the advice is written in one transaction at the end, so it is replaced all at once.

    A course whose last decided advice was dismissed gets none while the new advice repeats it
    (``still_dismissed``): same model version, same price, a proposal within the settings'
    ``dismissal_tolerance_pct``. A new model, a price change or a materially different proposal
    brings advice back."""
    result = optimise_catalog(course_ids=course_ids, on_progress=on_progress)
    if result.empty:
        return 0
    tolerance = float(pricing_settings().dismissal_tolerance_pct)
    rows = result.to_dict(orient="records")
    dismissed = dismissed_advice(course_ids=[int(r["course_id"]) for r in rows])
    records = [
        _stored_recommendation(r)
        for r in rows
        if not still_dismissed(
            dismissed=dismissed.get(int(r["course_id"])), advice=r, tolerance_pct=tolerance
        )
    ]
    with transaction.atomic():
        pending = PriceRecommendation.objects.filter(status=PriceRecommendation.Status.PENDING)
        if course_ids is not None:
            pending = pending.filter(course_id__in=course_ids)
        pending.update(status=PriceRecommendation.Status.SUPERSEDED)
        PriceRecommendation.objects.bulk_create(records, batch_size=1000)
    return len(records)


def start_advice_recompute(*, user, course_ids: list[int] | None = None) -> AdviceRun:
    """Record a queued advice run and queue its task once the run is committed."""
    with transaction.atomic():
        run = AdviceRun.objects.create(started_by=user, course_ids=course_ids)
        transaction.on_commit(lambda: current_app.send_task(ADVICE_TASK, args=[run.pk]))
    return run


def run_advice_recompute(*, run_id: int | None = None) -> AdviceRun:
    """Compute and store the advice of run ``run_id`` (without one, a new run for the whole
    catalog, as the nightly schedule and ``manage.py recommend_prices`` start it), reporting the
    courses done after each chunk. A failure is recorded on the run with its message and raised.
    A finished run is returned as it is, so a redelivered task does nothing twice."""
    run = AdviceRun.objects.get(pk=run_id) if run_id is not None else AdviceRun.objects.create()
    if run.is_finished:
        return run
    _update_run(run, status=AdviceRun.Status.RUNNING, started_at=timezone.now(), error="")

    def report(done: int, total: int) -> None:
        # Short of 100 until the advice is stored.
        _update_run(run, courses_done=done, courses_total=total, progress_pct=min(99, 100 * done // total))

    try:
        stored = compute_recommendations(course_ids=run.course_ids, on_progress=report)
    except Exception as exc:
        _update_run(
            run,
            status=AdviceRun.Status.FAILED,
            error=str(exc) or type(exc).__name__,
            finished_at=timezone.now(),
        )
        raise
    _update_run(
        run,
        status=AdviceRun.Status.SUCCEEDED,
        progress_pct=100,
        courses_done=run.courses_total,
        recommendations_stored=stored,
        finished_at=timezone.now(),
    )
    return run


def _update_run(run: AdviceRun, **changes) -> None:
    # Each update commits on its own, so the page sees progress while the advice is computed.
    for field, value in changes.items():
        setattr(run, field, value)
    AdviceRun.objects.filter(pk=run.pk).update(**changes)
