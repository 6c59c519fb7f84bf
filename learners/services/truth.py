"""The simulator's ground truth about learners, for scoring models only.

No model reads this: evaluation compares estimates with it after fitting, when the data came from
the simulator. Real data has no truth, and then ``load_learner_truth`` returns None.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from tokenecon.models import Learner
from tokenecon.simulator.truth_model import load_simulation_truth
from tokenecon.simulator.truth_queries import learners_truth, learners_truth_at_cutoff

PROBABILITIES = ["p_enroll_30d", "p_churn_60d", "p_complete_60d"]


def _by_learner_id(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    ids = dict(Learner.objects.filter(external_id__in=list(frame[key])).values_list("external_id", "id"))
    frame = frame.assign(learner_id=frame[key].map(ids)).dropna(subset=["learner_id"])
    return frame.set_index(frame["learner_id"].astype(int))


def load_learner_truth(cutoff: date) -> pd.DataFrame | None:
    """True probabilities at ``cutoff`` (NaN when the simulator did not record that cut-off) and
    true price sensitivity, indexed by learner id; None when the data is not the simulator's."""
    if load_simulation_truth() is None:
        return None
    at_end = learners_truth()
    out = _by_learner_id(at_end, "external_id")[["price_sensitivity"]]
    if out.empty:
        return None
    for column in PROBABILITIES:
        out[column] = np.nan
    at_cutoff = learners_truth_at_cutoff()
    if at_cutoff is not None and not at_cutoff.empty:
        dates = pd.to_datetime(at_cutoff["cutoff_date"]).dt.date
        at_cutoff = at_cutoff[dates == cutoff]
        if not at_cutoff.empty:
            mapped = _by_learner_id(at_cutoff, "external_id")
            for column in PROBABILITIES:
                out[column] = mapped[column].reindex(out.index)
    return out
