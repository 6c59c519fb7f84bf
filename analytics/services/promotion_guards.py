"""Promotion guards: when a training run's selected model may go to production by itself.

A retrain once promoted a model whose held-out R² was -0.55 (its data's last weeks were empty) and
it drove every price advice. The selected candidate is now promoted only if:

1. the training window passed the timeliness checks of ``analytics.data_quality`` (fresh to its
   end, no gap of days without enrollments);
2. the held-out weeks hold enough data: ``PROMOTION_MIN_HOLDOUT_ROWS`` course-weeks in at least
   ``PROMOTION_MIN_HOLDOUT_WEEKS`` weeks that have enrollments;
3. its held-out R² is not negative (worse than predicting the mean);
4. it is not worse than the production model on held-out data: on the same held-out rows when the
   production model has not trained on them, otherwise (stated) against the R² production scored on
   its own held-out weeks.

Otherwise it is registered as staging with the reasons in ``ModelVersion.promotion_note``, shown on
the registry and the run's pages; staff may still promote it by hand, after reading them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


def signed(value: float, places: int = 2) -> str:
    """-0.55 as "−0.55" (a real minus sign), for the reasons people read."""
    return f"{value:.{places}f}".replace("-", "−")


@dataclass(frozen=True)
class ProductionComparison:
    """The candidate's held-out R² against the production model's."""

    production_version: int
    production_r2: float
    candidate_r2: float
    # True: production was scored on the candidate's held-out rows (it had not trained on them).
    same_data: bool

    @property
    def worse(self) -> bool:
        return self.candidate_r2 < self.production_r2

    def as_dict(self) -> dict:
        return {
            "production_version": self.production_version,
            "production_r2": self.production_r2,
            "candidate_r2": self.candidate_r2,
            "same_data": self.same_data,
            "basis": self.basis,
        }

    @property
    def basis(self) -> str:
        if self.same_data:
            return f"both on this run's held-out weeks (v{self.production_version} had not trained on them)"
        return (
            f"v{self.production_version}'s R² on its own held-out weeks: it trained on this run's, "
            "so the two cannot be scored on the same data"
        )


def promotion_refusals(
    *,
    candidate_r2: float,
    holdout_rows: int,
    holdout_active_weeks: int,
    failed_data_checks: list[str],
    comparison: ProductionComparison | None,
    min_rows: int | None = None,
    min_weeks: int | None = None,
) -> list[str]:
    """Every reason the selected candidate may not be promoted automatically ([]: it may)."""
    min_rows = settings.PROMOTION_MIN_HOLDOUT_ROWS if min_rows is None else min_rows
    min_weeks = settings.PROMOTION_MIN_HOLDOUT_WEEKS if min_weeks is None else min_weeks
    reasons = [f"the training data failed a data-quality check: {title}" for title in failed_data_checks]
    if holdout_rows < min_rows or holdout_active_weeks < min_weeks:
        reasons.append(
            f"too little held-out data: {holdout_rows} course-weeks in {holdout_active_weeks} "
            f"week{'s' if holdout_active_weeks != 1 else ''} with enrollments, at least {min_rows} "
            f"course-weeks in {min_weeks} weeks needed"
        )
    if candidate_r2 < 0:
        reasons.append(
            f"held-out R² {signed(candidate_r2)} is negative: the model predicts worse than the mean"
        )
    if comparison is not None and comparison.worse:
        reasons.append(
            f"held-out R² {signed(candidate_r2)} is below production's {signed(comparison.production_r2)} "
            f"(v{comparison.production_version}; {comparison.basis})"
        )
    return reasons


def promotion_note(reasons: list[str]) -> str:
    """The reasons as one sentence for the registry ("Not promoted: ..." is the page's)."""
    if not reasons:
        return ""
    text = "; ".join(reasons)
    return text[0].upper() + text[1:] + "."
