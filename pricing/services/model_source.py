"""Where pricing gets the production demand model from, and each course's row in it.

The registry lives in ``analytics``, which may import ``pricing`` but not the other way round;
so analytics registers a provider here when it starts (``AnalyticsConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pricing.ml.artifact import DemandArtifact
from tokenecon.errors import TokenEconomyError
from tokenecon.models import Course


class NoDemandModel(TokenEconomyError):
    status_code = 503


@dataclass(frozen=True)
class ProductionDemand:
    version: int
    algorithm: str
    artifact: DemandArtifact


_provider: Callable[[], ProductionDemand] | None = None
# The production version's number alone (one indexed query, no artifact read), for pages that
# only need to know whether stored advice came from the production model.
_version_provider: Callable[[], int | None] | None = None


def set_demand_provider(provider: Callable[[], ProductionDemand]) -> None:
    global _provider
    _provider = provider


def set_demand_version_provider(provider: Callable[[], int | None]) -> None:
    global _version_provider
    _version_provider = provider


def production_demand_version() -> int | None:
    """The version number of the demand model in production, or None when none is."""
    return _version_provider() if _version_provider is not None else None


def production_demand() -> ProductionDemand:
    if _provider is None:
        raise NoDemandModel("No demand model provider is configured.")
    return _provider()


def course_rows(demand: ProductionDemand, course_ids: list[int] | None = None) -> pd.DataFrame:
    """Each course's state as the model saw it, at the course's price today."""
    rows = demand.artifact.current
    if course_ids is not None:
        rows = rows[rows["course_id"].isin(course_ids)]
    prices = Course.objects.filter(pk__in=rows["course_id"].tolist()).values_list(
        "pk", "price_tokens", "price_floor_tokens"
    )
    live = {pk: (price, floor) for pk, price, floor in prices}
    rows = rows[rows["course_id"].isin(live)].copy()
    rows["price"] = [float(live[c][0]) for c in rows["course_id"]]
    rows["log_price"] = np.log(rows["price"])
    rows["floor"] = [np.nan if live[c][1] is None else float(live[c][1]) for c in rows["course_id"]]
    return rows.reset_index(drop=True)
