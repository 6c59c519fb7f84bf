"""Running a simulation end to end: calibrate, write, compute and save the truth."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction

from tokenecon.models import (
    Account,
    Course,
    Enrollment,
    Entry,
    Learner,
    LearnerActivity,
    PriceChange,
    Teacher,
    Transfer,
)
from tokenecon.simulator.config import SimulationConfig
from tokenecon.simulator.engine import Engine, calibrate_browse_scale
from tokenecon.simulator.truth_computation import compute_truth
from tokenecon.simulator.truth_model import save_truth
from tokenecon.simulator.truth_queries import category_elasticities
from tokenecon.simulator.world import build_world
from tokenecon.simulator.writer import DatabaseWriter

MARKETPLACE_MODELS = (
    Entry,
    Transfer,
    LearnerActivity,
    Enrollment,
    PriceChange,
    Course,
    Account,
    Learner,
    Teacher,
)


class MarketplaceNotEmpty(Exception):
    pass


@dataclass
class SimulationResult:
    config: SimulationConfig
    browse_scale: float
    counts: dict[str, int]
    seconds: dict[str, float]
    truth_path: Path
    category_elasticities: dict[str, float] = field(default_factory=dict)


def marketplace_is_empty() -> bool:
    return not any(m.objects.exists() for m in (Course, Teacher, Learner, Enrollment, Transfer))


def _dependents(targets: set[type[models.Model]]) -> list[type[models.Model]]:
    """Every model (any app, auto-created M2M tables too) holding a foreign key into ``targets``."""
    found: list[type[models.Model]] = []
    pending = set(targets)
    while pending:
        added = set()
        for model in apps.get_models(include_auto_created=True):
            if model in targets or model in found:
                continue
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model in pending:
                    found.append(model)
                    added.add(model)
                    break
        pending = added
    return found


def flush_marketplace() -> dict[str, int]:
    """Delete all marketplace data (and rows of other apps that point at it) in one transaction.

    The explicit reset path for ``simulate --flush`` only. Ledger rows refuse ORM deletes, so this
    uses plain SQL; foreign keys are checked at commit (Django creates them deferrable), so the
    order of the statements does not matter. Staff users and the users of no learner or teacher
    profile are kept.
    """
    User = get_user_model()
    q = connection.ops.quote_name
    deleted: dict[str, int] = {}
    people = (
        f"SELECT user_id FROM {q(Learner._meta.db_table)} "
        f"UNION SELECT user_id FROM {q(Teacher._meta.db_table)}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS sim_flush_users (id bigint)")
        cursor.execute("DELETE FROM sim_flush_users")
        cursor.execute(f"INSERT INTO sim_flush_users (id) {people}")
        # Rows of other tables that belong to those users (tokens, sessions' admin log, groups...).
        for model in _dependents({User}):
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model is User and model not in MARKETPLACE_MODELS:
                    cursor.execute(
                        f"DELETE FROM {q(model._meta.db_table)} "
                        f"WHERE {q(f.column)} IN (SELECT id FROM sim_flush_users)"
                    )
                    deleted[model._meta.label] = deleted.get(model._meta.label, 0) + max(cursor.rowcount, 0)
        for model in [*_dependents(set(MARKETPLACE_MODELS)), *MARKETPLACE_MODELS]:
            if model is User:
                continue
            cursor.execute(f"DELETE FROM {q(model._meta.db_table)}")
            deleted[model._meta.label] = max(cursor.rowcount, 0)
        cursor.execute(f"DELETE FROM {q(User._meta.db_table)} WHERE id IN (SELECT id FROM sim_flush_users)")
        deleted[User._meta.label] = max(cursor.rowcount, 0)
        cursor.execute("DROP TABLE sim_flush_users")
    return deleted


def _tune_sqlite() -> None:
    """A larger page cache for this connection: the ledger's indexes (entries by account) are
    written in random order, and with SQLite's default 2 MB cache every insert past a few
    hundred thousand rows waits on a page read, which makes large runs grow faster than linearly."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")


def run_simulation(
    *,
    config: SimulationConfig,
    flush: bool = False,
    truth_path: Path | str | None = None,
    progress: Callable[[int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> SimulationResult:
    """Simulate a marketplace into the database and save its truth.

    Refuses a database that already holds marketplace data unless ``flush`` is set. The same
    config (seed included) always produces the same rows.
    """
    log = log or (lambda message: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if flush:
        flush_marketplace()
    elif not marketplace_is_empty():
        raise MarketplaceNotEmpty(
            "The database already holds marketplace data (courses, people or transfers). "
            "Run with --flush to delete it first, or use an empty database."
        )
    _tune_sqlite()
    world_seed, engine_seed, writer_seed, truth_seed = np.random.SeedSequence(config.seed).spawn(4)
    world = build_world(config, np.random.default_rng(world_seed))
    seconds["world"] = time.perf_counter() - started

    mark = time.perf_counter()
    browse_scale, expected = calibrate_browse_scale(config, world, engine_seed, log=log)
    seconds["calibration"] = time.perf_counter() - mark

    mark = time.perf_counter()
    writer = DatabaseWriter(config, world, np.random.default_rng(writer_seed))
    with transaction.atomic():
        writer.write_people_and_catalog()
    engine = Engine(config, world, browse_scale, np.random.default_rng(engine_seed))
    for chunk in engine.run(progress=progress):
        writer.write_chunk(chunk)
    seconds["simulation_and_writes"] = time.perf_counter() - mark
    if engine.state.enrollments != expected:
        raise AssertionError("the written run diverged from its calibration pass")

    mark = time.perf_counter()
    truth = compute_truth(
        cfg=config,
        world=world,
        state=engine.state,
        browse_scale=browse_scale,
        course_codes=writer.course_codes,
        learner_ids=writer.learner_codes,
        rng=np.random.default_rng(truth_seed),
        cutoff_state=engine.cutoff_state,
    )
    path = save_truth(truth, truth_path)
    elasticities = category_elasticities(path=path)
    seconds["truth"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    counts = {
        "learners": len(writer.learner_ids),
        "teachers": len(writer.teacher_ids),
        "courses": len(writer.course_ids),
        **writer.counts,
    }
    return SimulationResult(
        config=config,
        browse_scale=browse_scale,
        counts=counts,
        seconds=seconds,
        truth_path=path,
        category_elasticities=elasticities,
    )
