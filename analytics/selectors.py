"""Reads for the dashboard, the registry page and the models API."""

from __future__ import annotations

from django.db.models import QuerySet

from analytics.models import ModelVersion, PipelineRun


def model_versions(name: str | None = None) -> QuerySet[ModelVersion]:
    versions = ModelVersion.objects.select_related("run").order_by("name", "-version")
    return versions.filter(name=name) if name else versions


def recent_runs(limit: int = 10) -> QuerySet[PipelineRun]:
    return PipelineRun.objects.order_by("-created_at")[:limit]


def comparison_rows(versions) -> list[dict]:
    """One row per version with the metrics the registry page shows side by side."""
    rows = []
    for v in versions:
        holdout = v.metrics.get("holdout", {})
        truth = v.metrics.get("truth", {})
        rows.append(
            {
                "version": v,
                "poisson_deviance": holdout.get("poisson_deviance"),
                "rmse": holdout.get("rmse"),
                "r2": holdout.get("r2"),
                "course_cv_deviance": v.metrics.get("course_cv", {}).get("poisson_deviance"),
                "truth_mae": truth.get("category_mae"),
                "fit_seconds": v.metrics.get("fit_seconds"),
            }
        )
    return rows
