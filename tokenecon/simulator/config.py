"""Sizes, dates and the fixed behavioural constants of the marketplace simulator."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from tokenecon.models import CourseCategory

CATEGORIES: tuple[str, ...] = tuple(CourseCategory.values)


@dataclass(frozen=True)
class CategoryParams:
    """Per-category constants; ``price_coefficient`` is b_c in the utility (see MODEL.md)."""

    course_share: float
    interest_weight: float
    base_price_tokens: float
    price_coefficient: float


# Ordered like CourseCategory. Coefficients were tuned so the true elasticities at the default run's
# prices span about -0.4 (data science) to -2.5 (health).
CATEGORY_PARAMS: dict[str, CategoryParams] = {
    "programming": CategoryParams(0.16, 1.4, 140, 0.58),
    "data_science": CategoryParams(0.12, 1.1, 170, 0.41),
    "business": CategoryParams(0.10, 1.0, 120, 1.02),
    "design": CategoryParams(0.09, 0.9, 100, 1.27),
    "marketing": CategoryParams(0.08, 0.8, 90, 1.72),
    "languages": CategoryParams(0.11, 1.1, 80, 1.46),
    "personal_development": CategoryParams(0.09, 0.9, 60, 2.54),
    "music": CategoryParams(0.08, 0.8, 70, 2.12),
    "health": CategoryParams(0.08, 0.8, 55, 3.25),
    "test_prep": CategoryParams(0.09, 0.9, 130, 0.80),
}

# Price sensitivity takes one of these levels (log-spaced around 1), so the truth can sum over
# levels exactly instead of integrating over a continuous distribution.
SENSITIVITY_LEVELS = np.exp(0.2 * (np.arange(9) - 4))
DIFFICULTIES = ("beginner", "intermediate", "advanced")


@dataclass(frozen=True)
class SimulationConfig:
    learners: int = 10_000
    teachers: int = 500
    courses: int = 2_000
    enrollments: int = 50_000
    days: int = 365
    end_date: date = date(2026, 10, 31)
    seed: int = 42
    # Learners per truth replication block and Monte Carlo replications for learner probabilities.
    truth_replications: int = 200
    calibration_tolerance: float = 0.01
    # Learner truth is also computed at the start of day ``days - truth_cutoff_days`` (a forward
    # cut-off inside the window, so the data after it holds realised labels); 0 disables it.
    truth_cutoff_days: int = 60
    chunk_days: int | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)

    def scaled(self, scale: float) -> SimulationConfig:
        return replace(
            self,
            learners=max(20, round(self.learners * scale)),
            teachers=max(3, round(self.teachers * scale)),
            courses=max(10, round(self.courses * scale)),
            enrollments=max(20, round(self.enrollments * scale)),
        )

    @property
    def days_per_chunk(self) -> int:
        """Days simulated (and written) per chunk: fewer at large scale so memory stays flat."""
        if self.chunk_days:
            return self.chunk_days
        per_day = max(1.0, self.enrollments / self.days)
        return int(np.clip(round(9000 / per_day), 1, 92))

    @property
    def truth_cutoff_day(self) -> int | None:
        """Day number of the truth cut-off (the learner state is taken at its start), or None."""
        cutoff = self.days - self.truth_cutoff_days
        return cutoff if self.truth_cutoff_days > 0 and 0 < cutoff < self.days else None
