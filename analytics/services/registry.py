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
from tokenecon.errors import TokenEconomyError


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


def promote_version(*, version: ModelVersion) -> ModelVersion:
    """Make this version the production one for its name; the previous one is archived."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if not artifact_file(locked.artifact_path).exists():
            raise RegistryError(f"The artifact of {locked} is missing; it cannot be promoted.")
        ModelVersion.objects.filter(name=locked.name, stage=ModelVersion.Stage.PRODUCTION).exclude(
            pk=locked.pk
        ).update(stage=ModelVersion.Stage.ARCHIVED)
        locked.stage = ModelVersion.Stage.PRODUCTION
        locked.promoted_at = timezone.now()
        locked.save(update_fields=["stage", "promoted_at"])
    return locked


def archive_version(*, version: ModelVersion) -> ModelVersion:
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        locked.stage = ModelVersion.Stage.ARCHIVED
        locked.save(update_fields=["stage"])
    return locked


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
