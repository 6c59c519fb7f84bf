import pytest

import analytics.services.registry as registry
from analytics.models import ModelVersion
from analytics.services.registry import (
    NewVersion,
    NoProductionModel,
    ProductionWouldBeEmpty,
    archive_version,
    clear_model_cache,
    load_production_model,
    promote_version,
    register_model_versions,
)

pytestmark = pytest.mark.django_db


def register(*algorithms: str) -> list[ModelVersion]:
    return register_model_versions(
        name="demand",
        versions=[
            NewVersion(
                algorithm=a, artifact={"algorithm": a}, params={}, features=["log_price"], metrics={"r2": 0.5}
            )
            for a in algorithms
        ],
        run=None,
    )


def test_versions_are_numbered_per_name_and_artifacts_written():
    first = register("linear", "gam")
    second = register("linear")
    assert [v.version for v in first + second] == [1, 2, 3]
    assert all(v.stage == ModelVersion.Stage.STAGING for v in first + second)


def test_promoting_a_version_archives_the_previous_production_one():
    a, b = register("linear", "gam")
    promote_version(version=a)
    promote_version(version=b)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stage, b.stage) == ("archived", "production")
    assert ModelVersion.objects.filter(name="demand", stage="production").count() == 1


def test_production_model_is_loaded_once_and_reloaded_after_promotion(monkeypatch):
    clear_model_cache()
    a, b = register("linear", "gam")
    promote_version(version=a)
    loads = []
    original = registry.joblib.load
    monkeypatch.setattr(registry.joblib, "load", lambda path: loads.append(path) or original(path))
    assert load_production_model("demand")[1] == {"algorithm": "linear"}
    assert load_production_model("demand")[1] == {"algorithm": "linear"}
    assert len(loads) == 1
    promote_version(version=b)
    assert load_production_model("demand")[1] == {"algorithm": "gam"}
    assert len(loads) == 2


def test_without_a_production_version_loading_is_a_clear_error():
    clear_model_cache()
    (a,) = register("linear")
    with pytest.raises(NoProductionModel, match="No demand model is in production"):
        load_production_model("demand")
    promote_version(version=a)
    # Archiving the production version needs the caller's second confirmation.
    with pytest.raises(ProductionWouldBeEmpty, match="archiving it leaves no demand model in production"):
        archive_version(version=a)
    load_production_model("demand")
    archive_version(version=a, leave_production_empty=True)
    with pytest.raises(NoProductionModel):
        load_production_model("demand")
