"""The simulator's ground truth about demand, for scoring models only.

No model reads this: the evaluation stage compares estimates with it after fitting, when the data
came from the simulator. Real data has no truth, and then this returns None.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class DemandTruth:
    category_elasticity: dict[str, float]
    course_elasticity: pd.Series
    curves: pd.DataFrame | None


def load_truth() -> DemandTruth | None:
    try:
        from tokenecon.simulator import truth
    except ImportError:
        return None
    return truth.demand_truth_for_evaluation()
