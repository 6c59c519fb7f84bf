"""The providers analytics hands to pricing and learners at start-up (they may not import it)."""

from __future__ import annotations

from analytics.services.registry import NoProductionModel, load_production_model, production_version
from learners.services.model_source import NoLearnerModel, ProductionModel
from pricing.services.model_source import NoDemandModel, ProductionDemand, course_rows
from tokenecon.models import Course


def demand_provider() -> ProductionDemand:
    try:
        version, artifact = load_production_model("demand")
    except NoProductionModel as exc:
        raise NoDemandModel(str(exc)) from exc
    return ProductionDemand(version=version.version, algorithm=version.algorithm, artifact=artifact)


def demand_version_provider() -> int | None:
    version = production_version("demand")
    return version.version if version is not None else None


def learner_model_provider(name: str) -> ProductionModel:
    try:
        version, artifact = load_production_model(name)
    except NoProductionModel as exc:
        raise NoLearnerModel(str(exc)) from exc
    return ProductionModel(name=name, version=version.version, algorithm=version.algorithm, artifact=artifact)


def course_elasticity_provider(course_ids: list[int] | None = None) -> dict[int, float]:
    """Each course's elasticity at its price today, from the production demand model; a course
    the model has no row for (launched after training) gets its category's average."""
    try:
        demand = demand_provider()
    except NoDemandModel:
        return {}
    table = demand.artifact.category_elasticities
    by_category = {}
    if table is not None and len(table):
        by_category = dict(zip(table["category"], table["elasticity"], strict=True))
    courses = Course.objects.all() if course_ids is None else Course.objects.filter(pk__in=course_ids)
    out = {
        pk: by_category[category]
        for pk, category in courses.values_list("pk", "category")
        if category in by_category
    }
    rows = course_rows(demand, course_ids)
    if len(rows):
        values = demand.artifact.model.elasticity(rows)
        out.update(zip(rows["course_id"].astype(int).tolist(), map(float, values), strict=True))
    return out
