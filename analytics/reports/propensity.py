"""The propensity pipeline's JSON and HTML reports."""

from __future__ import annotations

import plotly.graph_objects as go
from django.template.loader import render_to_string

from analytics.reports.html import figure_html
from learners.ml.training import TARGETS, CutoffPlan

METRICS = ["roc_auc", "pr_auc", "brier", "calibration_error", "lift_top_decile"]


def _rows(target: str, metrics: dict) -> list[dict]:
    rows = []
    for name, values in metrics["candidates"].items():
        chosen = name == metrics["selected"]
        rows.append({"model": name, "selected": chosen, **{k: values[k] for k in METRICS}})
    for name in ("seed_rule", "oracle"):
        if name in metrics:
            rows.append({"model": name, "selected": False, **{k: metrics[name].get(k) for k in METRICS}})
    return rows


def auc_chart(evaluation: dict) -> go.Figure:
    figure = go.Figure()
    targets = list(evaluation["targets"])
    series: dict[str, list] = {}
    for target in targets:
        metrics = evaluation["targets"][target]
        for name, values in metrics["candidates"].items():
            series.setdefault(name, []).append(values["roc_auc"])
        for name in ("seed_rule", "oracle"):
            series.setdefault(name, []).append(metrics.get(name, {}).get("roc_auc"))
    for name, values in series.items():
        figure.add_trace(go.Bar(x=targets, y=values, name=name.replace("_", " ")))
    figure.update_layout(
        title="ROC AUC on the evaluation cut-off", barmode="group", yaxis={"range": [0.5, 1.0]}
    )
    return figure


def build_propensity_report(*, evaluation: dict, plan: CutoffPlan) -> tuple[dict, str]:
    report = {
        "evaluation_cutoff": str(plan.evaluation),
        "calibration_cutoffs": {k: str(v) for k, v in plan.calibration.items()},
        "training_cutoffs": {k: [str(c) for c in v] for k, v in plan.training.items()},
        "selection_rule": evaluation["selection_rule"],
        "truth_available": evaluation["truth_available"],
        "targets": {
            target: {
                "registry_name": TARGETS[target][0],
                "selected": metrics["selected"],
                "rows": metrics["rows"],
                "base_rate": metrics["base_rate"],
                "share_of_oracle_auc": metrics["share_of_oracle_auc"],
                "models": _rows(target, metrics),
            }
            for target, metrics in evaluation["targets"].items()
        },
        "price_sensitivity": evaluation["price_sensitivity"],
    }
    report["summary_lines"] = [
        f"{target:<14} {t['selected']:<18} AUC {next(r['roc_auc'] for r in t['models'] if r['selected']):.4f}"
        f"  calibration error {next(r['calibration_error'] for r in t['models'] if r['selected']):.4f}"
        + (f"  {t['share_of_oracle_auc']:.1%} of oracle AUC" if t["share_of_oracle_auc"] else "")
        for target, t in report["targets"].items()
    ]
    charts = [figure_html(auc_chart(evaluation))]
    html = render_to_string("analytics/partials/propensity_report.html", {"report": report, "charts": charts})
    return report, html
