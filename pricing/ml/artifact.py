"""What the registry stores for a demand model, readable by pricing without the registry."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pricing.ml.demand import DemandModel


@dataclass
class DemandArtifact:
    """The fitted model, each course's current state (features of its latest week at its current
    price) and the per-category elasticities with intervals, as computed at training time."""

    model: DemandModel
    current: pd.DataFrame
    category_elasticities: pd.DataFrame
    trained_on: dict = field(default_factory=dict)
