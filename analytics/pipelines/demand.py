"""Training the demand models as a pipeline run (data -> understanding -> preparation ->
training -> evaluation -> report), registering all seven and promoting the one the rule selects."""

from __future__ import annotations

import time

import joblib
import numpy as np
import pandas as pd
from django.conf import settings
from sklearn.model_selection import GroupKFold

from analytics.data_quality import timeliness_checks
from analytics.pipelines.spec import PipelineSpec, StageContext, require_enough, stages_by_name
from analytics.reports.demand import build_demand_report
from analytics.services.promotion_guards import ProductionComparison, promotion_note, promotion_refusals
from analytics.services.registry import (
    NewVersion,
    artifact_file,
    production_version,
    promote_version,
    register_model_versions,
)
from pricing import selectors
from pricing.ml.artifact import DemandArtifact
from pricing.ml.demand import (
    CONTROLS,
    MODEL_CLASSES,
    TREE_FEATURES,
    DemandModel,
    GAMDemand,
    LinearLogLog,
    add_model_columns,
    naive_cross_sectional_elasticities,
)
from pricing.ml.evaluation import (
    CurveGrid,
    PairedDeviances,
    category_elasticities,
    current_rows,
    curve_grid,
    demand_curve_error,
    holdout_metrics,
    select_model,
)
from pricing.ml.glm import poisson_deviance, unit_deviance
from pricing.ml.panel import build_weekly_panel, time_split
from pricing.services.truth import load_demand_truth

MODEL_NAME = "demand"
DEMAND_TITLE = "demand models"
# Raised whenever the models' form changes, so data trained on by older code is trained again.
MODEL_REVISION = 4
DEFAULTS = {"holdout_weeks": 8, "cv_folds": 2, "bootstrap_reps": 4, "seed": 0}
# The least data the models can be fitted and judged on: weeks to train on besides the held-out
# ones, courses that sold (split into the course-grouped folds), and courses whose price moved
# (without price variation there is no elasticity to estimate).
MIN_TRAINING_WEEKS = 4
MIN_COURSES_WITH_SALES = 10
MIN_COURSES_WITH_PRICE_CHANGES = 5


def fit_family(panel: pd.DataFrame, *, seed: int = 0, only: list[str] | None = None) -> tuple[dict, dict]:
    """Fit the seven models on one panel; the linear model's course effects are shared."""
    fitted, seconds = {}, {}
    started = time.perf_counter()
    linear = LinearLogLog(random_state=seed).fit(panel)
    seconds["linear"] = time.perf_counter() - started
    fitted["linear"] = linear
    for name, cls in MODEL_CLASSES.items():
        if name == "linear" or (only and name not in only):
            continue
        started = time.perf_counter()
        model = cls(random_state=seed)
        if isinstance(model, GAMDemand):
            model.fit(panel, effects=linear.effects, controls=linear)
        else:
            model.fit(panel, effects=linear.effects)
        fitted[name] = model
        seconds[name] = time.perf_counter() - started
    return fitted, seconds


def _params(ctx: StageContext) -> dict:
    return {**DEFAULTS, **ctx.params}


# -- stages ---------------------------------------------------------------------------------------
def stage_data(ctx: StageContext) -> dict:
    params = _params(ctx)
    courses = selectors.course_frame()
    enrollments = selectors.enrollment_frame()
    changes = selectors.price_change_frame()
    first, last = selectors.enrollment_window()
    require_enough(title=DEMAND_TITLE, shortfalls=demand_shortfalls(courses, enrollments, changes, params))
    # The window's timeliness (fresh to its end, no gaps): a failure keeps the model out of production.
    checks = timeliness_checks(window_daily_enrollments(enrollments))
    ctx.save(
        "tables",
        {
            "courses": courses,
            "enrollments": enrollments,
            "changes": changes,
            "first": first,
            "last": last,
            "data_checks": [check.as_dict() for check in checks],
        },
    )
    return {
        "courses": len(courses),
        "enrollments": len(enrollments),
        "price_changes": len(changes),
        "window": [str(first), str(last)],
        "data_checks_failed": [check.title for check in checks if not check.passed],
    }


def window_daily_enrollments(enrollments: pd.DataFrame) -> dict:
    days = pd.to_datetime(enrollments["enrolled_at"], utc=True).dt.date
    return {day: int(n) for day, n in days.value_counts().items()}


def demand_shortfalls(
    courses: pd.DataFrame, enrollments: pd.DataFrame, changes: pd.DataFrame, params: dict
) -> list[str]:
    """What the tables lack for a demand run, each with the minimum needed ([] when enough)."""
    if courses.empty:
        return ["there are no courses (load or simulate data first)"]
    if enrollments.empty:
        return ["there are no enrollments to learn demand from (load or simulate data first)"]
    shortfalls = []
    dates = pd.to_datetime(enrollments["enrolled_at"])
    weeks = (dates.max() - dates.min()).days // 7 + 1
    needed_weeks = params["holdout_weeks"] + MIN_TRAINING_WEEKS
    if weeks < needed_weeks:
        shortfalls.append(
            f"{weeks} weeks of enrollments, at least {needed_weeks} needed "
            f"({params['holdout_weeks']} held out for evaluation + {MIN_TRAINING_WEEKS} to train on)"
        )
    sold = enrollments["course_id"].nunique()
    needed_courses = max(MIN_COURSES_WITH_SALES, 2 * params["cv_folds"])
    if sold < needed_courses:
        shortfalls.append(f"{sold} courses with enrollments, at least {needed_courses} needed")
    # A course's first price is a row without an old price; only later rows are changes.
    real = changes["old_price_tokens"].notna() & changes["old_price_tokens"].ne(changes["new_price_tokens"])
    moved = int(changes.loc[real, "course_id"].nunique())
    if moved < MIN_COURSES_WITH_PRICE_CHANGES:
        shortfalls.append(
            f"{moved} courses with a price change, at least {MIN_COURSES_WITH_PRICE_CHANGES} needed"
        )
    return shortfalls


def stage_understanding(ctx: StageContext) -> dict:
    tables = ctx.load("tables")
    courses, changes = tables["courses"], tables["changes"]
    changed = changes.groupby("course_id").size()
    with_variation = int((changed > 1).sum())
    by_category = courses.groupby("category").agg(
        courses=("course_id", "size"), mean_price=("price_tokens", "mean")
    )
    return {
        "courses_with_price_changes": with_variation,
        "share_with_price_variation": round(with_variation / max(len(courses), 1), 3),
        "price_changes_per_course": round(float(changed.mean()) if len(changed) else 0.0, 2),
        "categories": {
            k: {"courses": int(v["courses"]), "mean_price": round(float(v["mean_price"]), 1)}
            for k, v in by_category.iterrows()
        },
    }


def stage_preparation(ctx: StageContext) -> dict:
    tables = ctx.load("tables")
    params = _params(ctx)
    panel = build_weekly_panel(
        courses=tables["courses"],
        price_changes=tables["changes"],
        enrollments=tables["enrollments"],
        start=tables["first"],
        end=tables["last"],
    )
    train, test = time_split(panel, holdout_weeks=params["holdout_weeks"])
    ctx.save("panel", {"panel": panel, "train": train, "test": test})
    return {
        "rows": len(panel),
        "weeks": int(panel["week"].nunique()),
        "train_rows": len(train),
        "test_rows": len(test),
        "zero_share": round(float((panel["enrollments"] == 0).mean()), 3),
        "mean_weekly_enrollments": round(float(panel["enrollments"].mean()), 3),
        "features": ["log_price", *CONTROLS],
    }


def stage_training(ctx: StageContext) -> dict:
    params = _params(ctx)
    data = ctx.load("panel")
    train = data["train"]
    ctx.progress(0.05, "fitting the seven models on the training weeks")
    models, seconds = fit_family(train, seed=params["seed"])
    folds = GroupKFold(n_splits=params["cv_folds"])
    cv_predictions = {name: np.zeros(len(train)) for name in models}
    for fold, (fit_idx, held_idx) in enumerate(folds.split(train, groups=train["course_id"])):
        ctx.progress(0.3 + 0.6 * fold / params["cv_folds"], f"course-grouped fold {fold + 1}")
        fold_models, _ = fit_family(train.iloc[fit_idx], seed=params["seed"])
        for name, model in fold_models.items():
            cv_predictions[name][held_idx] = model.predict(train.iloc[held_idx])
    y = train["enrollments"].to_numpy(dtype=float)

    course_cv = {
        name: {"poisson_deviance": poisson_deviance(y, p), "rmse": float(np.sqrt(np.mean((y - p) ** 2)))}
        for name, p in cv_predictions.items()
    }
    ctx.save(
        "models",
        {"models": models, "seconds": seconds, "course_cv": course_cv, "cv_predictions": cv_predictions},
    )
    return {"fit_seconds": {k: round(v, 3) for k, v in seconds.items()}, "course_cv": course_cv}


def stage_evaluation(ctx: StageContext) -> dict:
    params = _params(ctx)
    data, trained, tables = ctx.load("panel"), ctx.load("models"), ctx.load("tables")
    price_now = tables["courses"].set_index("course_id")["price_tokens"]
    truth = load_demand_truth()
    rows = current_rows(data["panel"], price_now)
    observed = data["panel"].groupby("course_id")["price"].agg(["min", "max"])
    rows["observed_min_price"] = rows["course_id"].map(observed["min"])
    rows["observed_max_price"] = rows["course_id"].map(observed["max"])
    grid = curve_grid(rows, truth.curves) if truth is not None and truth.curves is not None else None
    candidates, curves = {}, {}
    for index, (name, model) in enumerate(trained["models"].items()):
        ctx.progress(index / len(trained["models"]), f"evaluating {name}")
        elasticities = category_elasticities(
            model,
            rows,
            bootstrap_panel=data["train"],
            bootstrap_reps=params["bootstrap_reps"],
            seed=params["seed"],
        )
        result = {
            "holdout": holdout_metrics(model, data["test"]),
            "course_cv": trained["course_cv"][name],
            "fit_seconds": trained["seconds"][name],
            "category_elasticities": dict(
                zip(elasticities["category"], elasticities["elasticity"], strict=True)
            ),
            "intervals": elasticities.to_dict(orient="records"),
        }
        if truth is not None:
            result["truth"] = _truth_scores(model, grid, elasticities, truth)
        candidates[name] = result
        curves[name] = elasticities
    best, rule = select_model(candidates, paired=_paired_deviances(trained, data))
    ctx.progress(0.9, f"refitting {best} on every week")
    production, _ = fit_family(data["panel"], seed=params["seed"], only=[best])
    final = production[best]
    final_elasticities = category_elasticities(
        final,
        rows,
        bootstrap_panel=data["panel"],
        bootstrap_reps=params["bootstrap_reps"],
        seed=params["seed"],
    )
    naive = naive_cross_sectional_elasticities(data["panel"])
    evaluation = {
        "candidates": candidates,
        "selected": best,
        "rule": rule,
        "naive": naive,
        "promotion": promotion_decision(
            candidate_r2=candidates[best]["holdout"]["r2"],
            test=data["test"],
            data_checks=tables.get("data_checks", []),
        ),
    }
    if truth is not None:
        evaluation["selected_truth"] = _truth_scores(final, grid, final_elasticities, truth)
        evaluation["naive_truth_mae"] = float(
            np.mean(
                [
                    abs(naive[c] - truth.category_elasticity[c])
                    for c in naive
                    if c in truth.category_elasticity
                ]
            )
        )
        evaluation["truth_category_elasticity"] = truth.category_elasticity
    ctx.save(
        "evaluation",
        {"evaluation": evaluation, "final": final, "final_elasticities": final_elasticities, "rows": rows},
    )
    return {k: v for k, v in evaluation.items() if k != "candidates"} | {
        "candidates": {n: {k: v for k, v in c.items() if k != "intervals"} for n, c in candidates.items()}
    }


def promotion_decision(*, candidate_r2: float, test: pd.DataFrame, data_checks: list[dict]) -> dict:
    """Whether the selected candidate may be promoted (``analytics.services.promotion_guards``)."""
    weekly = test.groupby("week")["enrollments"].sum()
    active_weeks = weekly[weekly > 0].index
    holdout_rows = int(test["week"].isin(active_weeks).sum())
    comparison = compare_with_production(candidate_r2=candidate_r2, test=test)
    reasons = promotion_refusals(
        candidate_r2=candidate_r2,
        holdout_rows=holdout_rows,
        holdout_active_weeks=len(active_weeks),
        failed_data_checks=[check["title"] for check in data_checks if not check["passed"]],
        comparison=comparison,
    )
    return {
        "promote": not reasons,
        "reasons": reasons,
        "holdout_rows": holdout_rows,
        "holdout_active_weeks": len(active_weeks),
        "comparison": comparison.as_dict() if comparison else None,
    }


def compare_with_production(*, candidate_r2: float, test: pd.DataFrame) -> ProductionComparison | None:
    """The production model's held-out R² beside the candidate's: on the same held-out rows when it
    never trained on them (its data ends before them) and it can score them, else its stored one."""
    production = production_version(MODEL_NAME)
    if production is None:
        return None
    held_out_from = test["week_start"].min().date() if len(test) else None
    if production.data_end is not None and held_out_from is not None and production.data_end < held_out_from:
        try:
            artifact = joblib.load(artifact_file(production.artifact_path))
            r2 = holdout_metrics(artifact.model, test)["r2"]
        except Exception:  # noqa: BLE001 - a model of another form cannot score these rows: say so below
            r2 = None
        if r2 is not None and np.isfinite(r2):
            return ProductionComparison(production.version, float(r2), float(candidate_r2), same_data=True)
    stored = production.metrics.get("holdout", {}).get("r2")
    if stored is None:
        return None
    return ProductionComparison(production.version, float(stored), float(candidate_r2), same_data=False)


def _paired_deviances(trained: dict, data: dict) -> dict[str, PairedDeviances]:
    """Per-row held-out deviances of every model, so the selection can tell noise from a difference."""
    test, train = data["test"], data["train"]
    y_test = test["enrollments"].to_numpy(dtype=float)
    y_train = train["enrollments"].to_numpy(dtype=float)
    models = trained["models"]
    holdout = {name: unit_deviance(y_test, model.predict(test)) for name, model in models.items()}
    reference = next(iter(models.values()))
    frame = add_model_columns(test, reference.categories)
    moved = np.abs(reference.centered(frame, frame["log_price"].to_numpy())) > 0.05
    paired = {
        "holdout": PairedDeviances(holdout, test["course_id"].to_numpy()),
        "course_cv": PairedDeviances(
            {name: unit_deviance(y_train, p) for name, p in trained["cv_predictions"].items()},
            train["course_id"].to_numpy(),
        ),
    }
    if moved.any():
        paired["price_move"] = PairedDeviances(
            {name: values[moved] for name, values in holdout.items()}, test["course_id"].to_numpy()[moved]
        )
    return paired


def _truth_scores(model: DemandModel, grid: CurveGrid | None, elasticities: pd.DataFrame, truth) -> dict:
    estimate = dict(zip(elasticities["category"], elasticities["elasticity"], strict=True))
    errors = {
        c: float(estimate[c] - truth.category_elasticity[c])
        for c in estimate
        if c in truth.category_elasticity
    }
    scores = {
        "category_errors": errors,
        "category_mae": float(np.mean(np.abs(list(errors.values())))),
        "category_max_abs_error": float(np.max(np.abs(list(errors.values())))),
    }
    if grid is not None:
        scores.update(demand_curve_error(model, grid))
    return scores


def stage_report(ctx: StageContext) -> dict:
    data, trained, evaluated = ctx.load("panel"), ctx.load("models"), ctx.load("evaluation")
    evaluation = evaluated["evaluation"]
    report_json, report_html = build_demand_report(
        evaluation=evaluation,
        models=trained["models"],
        final=evaluated["final"],
        final_elasticities=evaluated["final_elasticities"],
        rows=evaluated["rows"],
        test=data["test"],
    )
    panel = data["panel"]
    window = (panel["week_start"].min().date(), (panel["week_start"].max() + pd.Timedelta(days=6)).date())
    versions = []
    for name, model in trained["models"].items():
        chosen = name == evaluation["selected"]
        model_to_store = evaluated["final"] if chosen else model
        elasticities = (
            evaluated["final_elasticities"] if chosen else category_elasticities(model, evaluated["rows"])
        )
        versions.append(
            NewVersion(
                algorithm=name,
                artifact=DemandArtifact(
                    model=model_to_store,
                    current=evaluated["rows"],
                    category_elasticities=elasticities,
                    trained_on={"weeks": int(panel["week"].nunique()), "rows": len(panel)},
                ),
                params={
                    "class": type(model).__name__,
                    **{
                        k: v
                        for k, v in vars(model).items()
                        if isinstance(v, int | float | str) and not k.startswith("_")
                    },
                },
                features=["log_price", *CONTROLS]
                if name in ("linear", "semilog", "poly2", "poly3", "gam")
                else TREE_FEATURES,
                metrics={k: v for k, v in evaluation["candidates"][name].items() if k != "intervals"},
                data_start=window[0],
                data_end=window[1],
                selected=chosen,
            )
        )
    registered = register_model_versions(name=MODEL_NAME, versions=versions, run=ctx.run)
    winner = next(v for v in registered if v.selected)
    decision = evaluation.get("promotion") or {"promote": True, "reasons": []}
    if decision["promote"]:
        promote_version(version=winner, user=ctx.run.created_by)
    else:
        # Staging, with the guards' reasons on the version for the registry page.
        winner.promotion_note = promotion_note(decision["reasons"])
        winner.save(update_fields=["promotion_note"])
    in_production = production_version(MODEL_NAME)
    report_json["registered_versions"] = {v.algorithm: v.version for v in registered}
    report_json["production_version"] = in_production.version if in_production else None
    report_json["promotion"] = {**decision, "version": winner.version, "promoted": decision["promote"]}
    return {"report": report_json, "report_html": report_html}


def _fingerprint(params: dict) -> str:
    return f"{sorted(selectors.data_signature().items())}{settings.TOKEN_PRICE_MIN}r{MODEL_REVISION}"


DEMAND = PipelineSpec(
    kind="demand",
    title=DEMAND_TITLE,
    stages=stages_by_name(
        stage_data, stage_understanding, stage_preparation, stage_training, stage_evaluation, stage_report
    ),
    fingerprint=_fingerprint,
    defaults=DEFAULTS,
)
