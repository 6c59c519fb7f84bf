"""The simulator's ground truth about demand, for scoring models only.

No model reads this: the evaluation stage compares estimates with it after fitting, when the data
came from the simulator. Real data has no truth, and then ``load_demand_truth`` returns None.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tokenecon.simulator.truth_model import load_simulation_truth
from tokenecon.simulator.truth_queries import (
    courses_truth,
    demand_curves,
    describes_catalog,
    mean_elasticity_by_category,
)


@dataclass
class DemandTruth:
    """True demand at current prices: what the demand evaluation scores estimates against."""

    category_elasticity: dict[str, float]
    course_elasticity: pd.Series  # by course_id
    curves: pd.DataFrame  # course_id, price, expected_enrollments_30d


def load_demand_truth(*, path: Path | str | None = None) -> DemandTruth | None:
    """The true demand of the catalog, or None when there is no truth or the catalog is not the
    simulator's (``path``: the truth file, default the one a simulation saves)."""
    truth = load_simulation_truth(path)
    if truth is None or not describes_catalog(truth):
        return None
    frame = courses_truth(path=path)
    curves = demand_curves(path=path)
    return DemandTruth(
        category_elasticity=mean_elasticity_by_category(frame),
        course_elasticity=frame.set_index("course_id")["elasticity"],
        curves=curves[["course_id", "price", "expected_enrollments_30d"]],
    )
