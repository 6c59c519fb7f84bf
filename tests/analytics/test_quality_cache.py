"""The data-quality page shows the latest stored run of the checks: it runs them only when nothing
is stored, says when the data changed since, and "Re-run checks" (a POST) runs them again."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.data_quality import assess_data_quality
from analytics.models import DataQualitySnapshot
from analytics.services import quality_cache
from tests.factories import LearnerFactory, StaffFactory, build_marketplace
from tests.helpers import signed_in
from tokenecon.models import Enrollment

pytestmark = pytest.mark.django_db

URL = "/dashboard/data-quality/"
RERUN = "/dashboard/data-quality/rerun/"


@pytest.fixture
def runs(monkeypatch):
    """Count the times the checks really run."""
    calls = []
    real = quality_cache.assess_data_quality

    def counted():
        calls.append(1)
        return real()

    monkeypatch.setattr(quality_cache, "assess_data_quality", counted)
    return calls


def test_first_visit_runs_and_stores_the_checks_later_visits_read_them(client, runs):
    build_marketplace()
    staff = signed_in(client, StaffFactory())
    first = staff.get(URL)
    assert first.status_code == 200 and len(runs) == 1
    assert DataQualitySnapshot.objects.count() == 1
    assert "nothing was stored yet" in first.content.decode()
    with CaptureQueriesContext(connection) as queries:
        second = staff.get(URL)
    assert second.status_code == 200 and len(runs) == 1
    page = second.content.decode()
    assert "Checked at" in page and "Re-run checks" in page
    assert "nothing was stored yet" not in page
    assert "The data has changed" not in page
    assert len(queries) < 25  # the fingerprint and the session, not the checks' aggregates


def test_changed_data_is_flagged_and_rerun_refreshes_the_stored_result(client, runs):
    data = build_marketplace()
    staff = signed_in(client, StaffFactory())
    staff.get(URL)
    assert "The data has changed" not in staff.get(URL).content.decode()
    LearnerFactory()
    assert "The data has changed" in staff.get(URL).content.decode()
    assert len(runs) == 1

    Enrollment.objects.filter(pk=data["enrollments"][0].pk).update(progress_pct=50)
    response = staff.post(RERUN, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    page = response.content.decode()
    assert len(runs) == 2 and DataQualitySnapshot.objects.count() == 2
    assert "Checks run again in" in page
    assert "The data has changed" not in page
    latest = DataQualitySnapshot.objects.order_by("-pk").first()
    assert latest.requested_by is not None
    assert latest.score == assess_data_quality().score < 100


def test_rerun_is_a_post_for_staff_only(client):
    assert signed_in(client, StaffFactory()).get(RERUN).status_code == 405
    assert signed_in(client, LearnerFactory().user).post(RERUN).status_code == 403
    assert DataQualitySnapshot.objects.count() == 0


def test_a_stored_report_reads_back_as_the_report_it_was():
    data = build_marketplace()
    Enrollment.objects.filter(pk=data["enrollments"][0].pk).update(progress_pct=50)
    direct = assess_data_quality()
    stored = quality_cache.report_of(quality_cache.run_and_store())
    assert stored.score == direct.score
    assert [c.as_dict() for c in stored.checks] == [c.as_dict() for c in direct.checks]
    assert [c.key for c in stored.critical_failures] == [c.key for c in direct.critical_failures]
    assert stored.distributions == direct.distributions


def test_only_the_latest_runs_are_kept(monkeypatch):
    build_marketplace()
    monkeypatch.setattr(quality_cache, "KEEP_SNAPSHOTS", 2)
    for _ in range(3):
        quality_cache.run_and_store()
    assert DataQualitySnapshot.objects.count() == 2
