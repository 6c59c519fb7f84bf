"""Where pricing gets the production demand model from.

The registry lives in ``analytics``, which may import ``pricing`` but not the other way round;
so analytics registers a provider here when it starts (``AnalyticsConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pricing.ml.artifact import DemandArtifact
from tokenecon.errors import TokenEconomyError


class NoDemandModel(TokenEconomyError):
    status_code = 503


@dataclass(frozen=True)
class ProductionDemand:
    version: int
    algorithm: str
    artifact: DemandArtifact


_provider: Callable[[], ProductionDemand] | None = None


def set_demand_provider(provider: Callable[[], ProductionDemand]) -> None:
    global _provider
    _provider = provider


def production_demand() -> ProductionDemand:
    if _provider is None:
        raise NoDemandModel("No demand model provider is configured.")
    return _provider()
