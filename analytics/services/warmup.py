"""Load at start what the first requests of a web process would otherwise load one by one.

Measured on the demo database (bench/bench_pages.py): a fresh process spent 0.5-0.8 s importing
the URLconf (and with it every view module, numpy, pandas and plotly), about 0.1 s filling the
reverse-URL table, compiling each page's templates on its first use, and, on a learner's first
page, 1.4-2.5 s building the course-suggestion state from every enrollment; a teacher's or staff
member's first page loaded the production models' artifacts from disk.

``warm_up()`` does all of that once. tokenecon/wsgi.py calls it (setting ``WARM_UP_AT_START``)
when the WSGI application is made: with gunicorn's ``preload_app`` that is in the master before
it forks, so every worker starts warm (and shares the memory), and ``runserver`` does it before
serving. Each step is best effort (a database not migrated yet, no model in production): a
failure is logged and the step left to the first request, as before. Database connections are
closed at the end, so none is inherited across the fork.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.template import engines
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import translation

from analytics.models import ModelVersion
from analytics.services.registry import load_production_model
from learners.services.suggestions import suggest_courses
from tokenecon.models import Learner
from tokenecon.services.health import check_health

logger = logging.getLogger(__name__)


def _fill_reverse_tables(resolver, path: str = "") -> int:
    """A namespaced ``reverse()``/``{% url 'analytics:...' %}`` goes through a resolver made for
    that namespace (cached), whose reverse table is filled, per language, on its first use: about
    0.3 s on a first page otherwise. Reversing a name that does not exist in each namespace
    makes and fills it."""
    filled = 0
    for namespace, (_prefix, child) in resolver.namespace_dict.items():
        full = f"{path}{namespace}:"
        try:
            reverse(f"{full}warm-up-no-such-name")
        except NoReverseMatch:
            filled += 1
        filled += _fill_reverse_tables(child, full)
    return filled


def _urls() -> int:
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - imports every view module
    with translation.override(settings.LANGUAGE_CODE):
        reverse("home")  # the root table
        return _fill_reverse_tables(resolver)


def project_templates() -> list[str]:
    """Names of the project's own templates (templates/), admin overrides included."""
    names = []
    for folder in settings.TEMPLATES[0]["DIRS"]:
        root = Path(folder)
        names += sorted(str(p.relative_to(root)) for p in root.rglob("*.html"))
    return names


def _templates() -> int:
    engine = engines["django"]
    compiled = 0
    for name in project_templates():
        try:
            engine.get_template(name)  # the cached loader keeps the compiled template
            compiled += 1
        except Exception:  # noqa: BLE001 - a template that fails to compile fails on its page too
            logger.warning("warm-up: template %s did not compile", name, exc_info=True)
    return compiled


def _models() -> list[str]:
    names = sorted(
        set(ModelVersion.objects.filter(stage=ModelVersion.Stage.PRODUCTION).values_list("name", flat=True))
    )
    for name in names:
        load_production_model(name)
    return names


def _suggestions() -> bool:
    learner = Learner.objects.order_by("pk").first()
    if learner is None:
        return False
    suggest_courses(learner=learner, k=1)  # builds the per-process suggestion state
    return True


def _health() -> str:
    """The first /health/ call opens the broker connection (imports the transport)."""
    return check_health()["status"]


STEPS = (
    ("urls", _urls),
    ("templates", _templates),
    ("models", _models),
    ("suggestions", _suggestions),
    ("health", _health),
)


def warm_up() -> dict[str, dict]:
    """Run every step; returns each step's seconds and result (or error)."""
    report: dict[str, dict] = {}
    try:
        for name, step in STEPS:
            started = time.perf_counter()
            try:
                result = step()
                report[name] = {"ok": True, "result": result}
            except Exception as exc:  # noqa: BLE001 - best effort: the first request does it instead
                logger.warning("warm-up step %s failed: %s", name, exc)
                report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            report[name]["seconds"] = round(time.perf_counter() - started, 3)
    finally:
        connections.close_all()
    logger.info(
        "warm-up: %s",
        ", ".join(f"{name} {r['seconds']} s{'' if r['ok'] else ' (failed)'}" for name, r in report.items()),
    )
    return report
