"""The providers analytics hands to pricing and learners at start-up (they may not import it)."""

from __future__ import annotations

from analytics.services.registry import NoProductionModel, load_production_model
from learners.services.model_source import NoLearnerModel, ProductionModel
from pricing.services.model_source import NoDemandModel, ProductionDemand


def demand_provider() -> ProductionDemand:
    try:
        version, artifact = load_production_model("demand")
    except NoProductionModel as exc:
        raise NoDemandModel(str(exc)) from exc
    return ProductionDemand(version=version.version, algorithm=version.algorithm, artifact=artifact)


def learner_model_provider(name: str) -> ProductionModel:
    try:
        version, artifact = load_production_model(name)
    except NoProductionModel as exc:
        raise NoLearnerModel(str(exc)) from exc
    return ProductionModel(name=name, version=version.version, algorithm=version.algorithm, artifact=artifact)


def course_elasticity_provider() -> dict[int, float]:
    """Each course's elasticity at its current price: from its latest price recommendation, else
    its category's average from the production demand model."""
    from pricing.models import PriceRecommendation
    from tokenecon.models import Course

    try:
        demand = demand_provider()
    except NoDemandModel:
        return {}
    by_category = {}
    table = demand.artifact.category_elasticities
    if table is not None and len(table):
        by_category = dict(zip(table["category"], table["elasticity"], strict=True))
    out = {
        course_id: by_category[category]
        for course_id, category in Course.objects.values_list("id", "category")
        if category in by_category
    }
    # Oldest first, so the newest recommendation of a course is the one that stays.
    latest = PriceRecommendation.objects.filter(model_version=demand.version).order_by("created_at")
    for course_id, elasticity in latest.values_list("course_id", "elasticity_current"):
        out[course_id] = elasticity
    return out
