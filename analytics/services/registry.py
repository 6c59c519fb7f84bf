"""The model registry: register trained models, promote one per name, load the production one.

Artifacts are joblib files under ``settings.ARTIFACTS_DIR``. The production model is loaded once
per process and reloaded when another version is promoted: each lookup asks the database which
version is in production (one indexed query) and reads the artifact only when that changed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import joblib
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from analytics.jsonable import jsonable
from analytics.models import ModelVersion, PipelineRun
from analytics.services.run_progress import artifact_tag
from pricing.models import PriceRecommendation
from pricing.services.advice import start_advice_recompute
from tokenecon.errors import TokenEconomyError
from tokenecon.models import Course


class NoProductionModel(TokenEconomyError):
    status_code = 503


class RegistryError(TokenEconomyError):
    status_code = 409


def artifact_file(relative: str) -> Path:
    return Path(settings.ARTIFACTS_DIR) / relative


def write_artifact(obj: Any, *, relative: str) -> str:
    path = artifact_file(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    joblib.dump(obj, tmp, compress=3)
    tmp.replace(path)  # atomic on one filesystem: readers never see half a file
    return relative


@dataclass(frozen=True)
class NewVersion:
    algorithm: str
    artifact: Any
    params: dict
    features: list[str]
    metrics: dict
    data_start: date | None = None
    data_end: date | None = None
    selected: bool = False


def register_model_versions(
    *, name: str, versions: list[NewVersion], run: PipelineRun | None
) -> list[ModelVersion]:
    """Write artifacts first, then create every version row in one transaction (all or none)."""
    written = []
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    for index, new in enumerate(versions):
        tag = artifact_tag(run.pk) if run is not None else "-"
        relative = f"models/{name}/{stamp}{tag}{index}-{new.algorithm}.joblib"
        written.append((new, write_artifact(new.artifact, relative=relative)))
    with transaction.atomic():
        # Lock the name's rows so two runs cannot take the same version number.
        list(ModelVersion.objects.select_for_update().filter(name=name).values_list("pk", flat=True))
        latest = ModelVersion.objects.filter(name=name).aggregate(m=Max("version"))["m"] or 0
        rows = [
            ModelVersion.objects.create(
                name=name,
                version=latest + offset + 1,
                algorithm=new.algorithm,
                params=jsonable(new.params),
                features=jsonable(new.features),
                metrics=jsonable(new.metrics),
                data_start=new.data_start,
                data_end=new.data_end,
                artifact_path=relative,
                run=run,
                selected=new.selected,
            )
            for offset, (new, relative) in enumerate(written)
        ]
    return rows


# The model whose promotion changes the stored price advice (recomputed as a task on promotion).
DEMAND_MODEL = "demand"


def promote_version(*, version: ModelVersion, user=None) -> ModelVersion:
    """Make this version the production one for its name; the previous one is archived.

    Promoting a demand model queues a recompute of the whole catalog's price advice (an advice run
    with its progress, ``pricing.services.advice.start_advice_recompute``): until it has finished,
    advice computed with another version is shown as stale and cannot be applied."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if not artifact_file(locked.artifact_path).exists():
            raise RegistryError(f"The artifact of {locked} is missing; it cannot be promoted.")
        ModelVersion.objects.filter(name=locked.name, stage=ModelVersion.Stage.PRODUCTION).exclude(
            pk=locked.pk
        ).update(stage=ModelVersion.Stage.ARCHIVED)
        was_production = locked.stage == ModelVersion.Stage.PRODUCTION
        locked.stage = ModelVersion.Stage.PRODUCTION
        locked.promoted_at = timezone.now()
        locked.promotion_note = ""
        locked.save(update_fields=["stage", "promoted_at", "promotion_note"])
    if locked.name == DEMAND_MODEL and not was_production:
        start_advice_recompute(user=user)
    return locked


class ProductionWouldBeEmpty(TokenEconomyError):
    """Archiving the production version leaves its name without one: asked to confirm twice."""

    status_code = 409


def archive_version(*, version: ModelVersion, leave_production_empty: bool = False) -> ModelVersion:
    """Archive a version. Archiving the one in production leaves pages and the API without that
    model (teachers see no curves, optimisation answers 503), so it needs
    ``leave_production_empty``: the caller's explicit second confirmation."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.stage == ModelVersion.Stage.PRODUCTION and not leave_production_empty:
            raise ProductionWouldBeEmpty(
                f"{locked.name} v{locked.version} is in production: archiving it leaves no {locked.name} "
                "model in production. Promote another version instead, or confirm that production "
                "is left empty."
            )
        locked.stage = ModelVersion.Stage.ARCHIVED
        locked.save(update_fields=["stage"])
    return locked


@dataclass(frozen=True)
class StageChangePreview:
    """What promoting or archiving ``version`` changes, for the confirmation staff see first."""

    version: ModelVersion
    action: str  # "promote" or "archive"
    leaving_production: ModelVersion | None  # the version that stops being the production one
    empties_production: bool  # no version of the name is left in production
    courses_recomputed: int  # courses whose price advice is recomputed (promoting a demand model)
    pending_advice: int  # pending advice rows (demand): stale until recomputed, or left model-less

    @property
    def changes_anything(self) -> bool:
        if self.action == "promote":
            return self.version.stage != ModelVersion.Stage.PRODUCTION
        return self.version.stage != ModelVersion.Stage.ARCHIVED


def preview_stage_change(*, version: ModelVersion, action: str) -> StageChangePreview:
    current = production_version(version.name)
    demand = version.name == DEMAND_MODEL
    pending = (
        PriceRecommendation.objects.filter(status=PriceRecommendation.Status.PENDING).count() if demand else 0
    )
    if action == "promote":
        leaving = current if current is not None and current.pk != version.pk else None
        recomputed = Course.objects.count() if demand and (current is None or current.pk != version.pk) else 0
        return StageChangePreview(version, action, leaving, False, recomputed, pending)
    in_production = current is not None and current.pk == version.pk
    return StageChangePreview(version, action, version if in_production else None, in_production, 0, pending)


def production_version(name: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(name=name, stage=ModelVersion.Stage.PRODUCTION).first()


_cache: dict[str, tuple[int, Any]] = {}
_cache_lock = threading.Lock()


def load_production_model(name: str) -> tuple[ModelVersion, Any]:
    """The production version of ``name`` and its loaded artifact, cached per process."""
    version = production_version(name)
    if version is None:
        raise NoProductionModel(f"No {name} model is in production yet: train one and promote it.")
    with _cache_lock:
        cached = _cache.get(name)
        if cached is None or cached[0] != version.pk:
            _cache[name] = (version.pk, joblib.load(artifact_file(version.artifact_path)))
        return version, _cache[name][1]


def clear_model_cache() -> None:
    with _cache_lock:
        _cache.clear()
