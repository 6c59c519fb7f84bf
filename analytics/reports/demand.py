"""The demand pipeline's JSON and HTML reports, with Plotly charts built in Python."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from django.template.loader import render_to_string

from analytics.reports.html import figure_html
from pricing.ml.demand import DemandModel
from tokenecon.models import CourseCategory

CATEGORY_LABELS = dict(CourseCategory.choices)


def category_label(code: str) -> str:
    """The chart's name for a category code (``test_prep`` -> ``Test preparation``)."""
    return CATEGORY_LABELS.get(code, code)


def elasticity_chart(evaluation: dict) -> go.Figure:
    figure = go.Figure()
    for name, candidate in evaluation["candidates"].items():
        rows = pd.DataFrame(candidate["intervals"])
        figure.add_trace(
            go.Scatter(
                x=[category_label(c) for c in rows["category"]],
                y=rows["elasticity"],
                mode="markers",
                name=name,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (rows["upper"] - rows["elasticity"]).tolist(),
                    "arrayminus": (rows["elasticity"] - rows["lower"]).tolist(),
                },
            )
        )
    naive = evaluation.get("naive", {})
    figure.add_trace(
        go.Scatter(
            x=[category_label(c) for c in naive],
            y=list(naive.values()),
            mode="markers",
            name="naive (cross-section)",
            marker={"symbol": "x", "color": "grey"},
        )
    )
    truth = evaluation.get("truth_category_elasticity")
    if truth:
        figure.add_trace(
            go.Scatter(
                x=[category_label(c) for c in truth],
                y=list(truth.values()),
                mode="markers",
                name="truth",
                marker={"symbol": "diamond", "size": 11, "color": "black"},
            )
        )
    figure.update_layout(title="Elasticity by category (95% intervals)", yaxis_title="d ln Q / d ln P")
    return figure


def truth_scatter(evaluation: dict) -> go.Figure | None:
    truth = evaluation.get("truth_category_elasticity")
    if not truth:
        return None
    figure = go.Figure()
    for name, candidate in evaluation["candidates"].items():
        est = candidate["category_elasticities"]
        cats = [c for c in est if c in truth]
        figure.add_trace(
            go.Scatter(
                x=[truth[c] for c in cats],
                y=[est[c] for c in cats],
                mode="markers",
                name=name,
                text=[category_label(c) for c in cats],
            )
        )
    low = min(truth.values()) - 0.3
    figure.add_trace(
        go.Scatter(
            x=[low, 0],
            y=[low, 0],
            mode="lines",
            name="estimate = truth",
            line={"dash": "dash", "color": "grey"},
        )
    )
    figure.update_layout(
        title="Truth vs estimate, per category",
        xaxis_title="true elasticity",
        yaxis_title="estimated elasticity",
    )
    return figure


def demand_curves(final: DemandModel, rows: pd.DataFrame, sample: int = 4) -> go.Figure:
    figure = go.Figure()
    chosen = rows.sort_values("course_id").groupby("category", observed=True).head(1).head(sample)
    for _, row in chosen.iterrows():
        prices = np.linspace(0.5 * row["price"], 2 * row["price"], 40)
        frame = pd.DataFrame([row] * len(prices))
        predicted = final.predict_weekly(frame, prices) * 30 / 7
        figure.add_trace(
            go.Scatter(
                x=prices, y=predicted, mode="lines", name=f"{row['code']} ({category_label(row['category'])})"
            )
        )
    figure.update_layout(
        title="Demand curves of the selected model (sample courses)",
        xaxis_title="price (tokens)",
        yaxis_title="expected enrollments / 30 days",
    )
    return figure


def residual_chart(final: DemandModel, test: pd.DataFrame) -> go.Figure:
    predicted = final.predict(test)
    frame = pd.DataFrame({"predicted": predicted, "actual": test["enrollments"].to_numpy()})
    frame["bin"] = pd.qcut(frame["predicted"], q=20, duplicates="drop")
    binned = frame.groupby("bin", observed=True).mean()
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(x=binned["predicted"], y=binned["actual"], mode="markers+lines", name="held-out weeks")
    )
    top = float(max(binned["predicted"].max(), binned["actual"].max()))
    figure.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            line={"dash": "dash", "color": "grey"},
            name="perfect calibration",
        )
    )
    figure.update_layout(
        title="Held-out calibration: predicted vs actual weekly enrollments (20 bins)",
        xaxis_title="predicted",
        yaxis_title="actual",
    )
    return figure


def importance_chart(models: dict[str, DemandModel]) -> go.Figure | None:
    for name in ("gradient_boosting", "random_forest", "linear"):
        model = models.get(name)
        importance = model.feature_importance() if model else {}
        if importance:
            items = sorted(importance.items(), key=lambda kv: kv[1])[-15:]
            figure = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
            figure.update_layout(title=f"Feature importance ({name})")
            return figure
    return None


def build_demand_report(
    *,
    evaluation: dict,
    models: dict,
    final: DemandModel,
    final_elasticities: pd.DataFrame,
    rows: pd.DataFrame,
    test: pd.DataFrame,
) -> tuple[dict, str]:
    table = []
    for name, c in evaluation["candidates"].items():
        entry = {
            "model": name,
            **{f"holdout_{k}": v for k, v in c["holdout"].items() if k != "rows"},
            "course_cv_poisson_deviance": c["course_cv"]["poisson_deviance"],
            "fit_seconds": c["fit_seconds"],
        }
        if "truth" in c:
            entry["truth_category_mae"] = c["truth"]["category_mae"]
            entry["truth_category_max_abs_error"] = c["truth"]["category_max_abs_error"]
            entry["curve_shape_error_median"] = c["truth"].get("curve_shape_error_median")
        table.append(entry)
    report = {
        "selected": evaluation["selected"],
        "rule": evaluation["rule"],
        "models": table,
        "selected_category_elasticities": final_elasticities.to_dict(orient="records"),
        "naive_category_elasticities": evaluation["naive"],
        "naive_truth_mae": evaluation.get("naive_truth_mae"),
        "selected_truth": evaluation.get("selected_truth"),
        "truth_category_elasticity": evaluation.get("truth_category_elasticity"),
    }
    charts = [
        elasticity_chart(evaluation),
        truth_scatter(evaluation),
        demand_curves(final, rows),
        residual_chart(final, test),
        importance_chart(models),
    ]
    html = render_to_string(
        "analytics/partials/demand_report.html",
        {
            "report": report,
            "charts": [figure_html(c) for c in charts if c is not None],
        },
    )
    return report, html
