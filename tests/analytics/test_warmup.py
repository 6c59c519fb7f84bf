"""The start-up warm-up (analytics/services/warmup.py): every step runs, each is best effort, and
no database connection is left open for a forked worker to inherit."""

import pytest
from django.db import connection
from django.urls import get_resolver

from analytics.services import warmup
from tests.factories import CourseFactory, LearnerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_warm_up_runs_every_step_and_closes_the_connection():
    CourseFactory()
    LearnerFactory()
    report = warmup.warm_up()
    assert list(report) == ["urls", "templates", "models", "suggestions", "health"]
    assert all(step["ok"] for step in report.values()), report
    # Every project template compiles, and each URL namespace's reverse table is filled.
    assert report["templates"]["result"] == len(warmup.project_templates()) > 10
    assert report["urls"]["result"] >= len(get_resolver().namespace_dict)
    assert report["models"]["result"] == []  # nothing in production in this database
    assert report["suggestions"]["result"] is True
    assert connection.connection is None


def test_a_failing_step_is_reported_and_the_rest_still_run(monkeypatch):
    def broken():
        raise RuntimeError("artifact missing")

    monkeypatch.setattr(warmup, "STEPS", (("models", broken), *warmup.STEPS[3:]))
    report = warmup.warm_up()
    assert report["models"] == {
        "ok": False,
        "error": "RuntimeError: artifact missing",
        "seconds": pytest.approx(0, abs=1),
    }
    assert report["suggestions"]["ok"] and report["suggestions"]["result"] is False  # no learner yet


def test_wsgi_warms_up_only_when_the_setting_names_a_function(settings, monkeypatch):
    import tokenecon.wsgi as wsgi

    calls = []
    monkeypatch.setattr(warmup, "warm_up", lambda: calls.append(1))
    settings.WARM_UP_AT_START = ""
    wsgi._warm_up()
    assert calls == []
    settings.WARM_UP_AT_START = "analytics.services.warmup.warm_up"
    wsgi._warm_up()
    assert calls == [1]
