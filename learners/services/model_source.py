"""Where learners get production models and course elasticities from.

The registry lives in ``analytics`` and the demand model in ``pricing``; ``learners`` imports
neither, so analytics registers providers here when it starts (``AnalyticsConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokenecon.errors import TokenEconomyError


class NoLearnerModel(TokenEconomyError):
    status_code = 503


@dataclass(frozen=True)
class ProductionModel:
    name: str
    version: int
    algorithm: str
    artifact: Any


_model_provider: Callable[[str], ProductionModel] | None = None
_elasticity_provider: Callable[..., dict[int, float]] | None = None


def set_providers(
    *, models: Callable[[str], ProductionModel], elasticities: Callable[..., dict[int, float]]
) -> None:
    global _model_provider, _elasticity_provider
    _model_provider, _elasticity_provider = models, elasticities


def production_model(name: str) -> ProductionModel:
    if _model_provider is None:
        raise NoLearnerModel("No model provider is configured.")
    return _model_provider(name)


def course_elasticities(course_ids: list[int] | None = None) -> dict[int, float]:
    """Own-price elasticity of each course (or of ``course_ids``) at its current price, from the
    production demand model (empty when there is none)."""
    return _elasticity_provider(course_ids) if _elasticity_provider is not None else {}
