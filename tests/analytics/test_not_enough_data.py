"""Too little data is refused up front, in the data stage, with what is missing and the minimum:
the run fails with that message (no traceback), ``train`` exits non-zero printing it, and the run
page shows it. The world is the one of the report: 300 learners, 60 courses, 60 days."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from analytics.models import ModelVersion, PipelineRun
from tests.factories import StaffFactory
from tests.helpers import signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def small_world(tmp_path):
    with override_settings(SIMULATOR_TRUTH_PATH=str(tmp_path / "truth.joblib")):
        call_command(
            "simulate",
            *("--learners", "300", "--teachers", "20", "--courses", "60"),
            *("--enrollments", "900", "--days", "60"),
            stdout=StringIO(),
            stderr=StringIO(),
        )
        yield


@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        ("demand", "9 weeks of enrollments, at least 12 needed (8 held out for evaluation + 4 to train on)"),
        ("propensity", "60 days of enrollments and activity, at least 164 needed"),
    ],
)
def test_training_a_small_world_is_refused_with_what_is_missing(client, small_world, kind, missing):
    with pytest.raises(CommandError, match="Not enough data to train") as refused:
        call_command("train", "--kind", kind, "--sync", stdout=StringIO(), stderr=StringIO())
    assert missing in str(refused.value)
    assert "Traceback" not in str(refused.value)
    run = PipelineRun.objects.get()
    assert run.status == PipelineRun.Status.FAILED
    assert run.error.startswith("Not enough data to train") and missing in run.error
    assert [s["status"] for s in run.stages][:2] == ["failed", "pending"]
    assert not ModelVersion.objects.exists()
    signed_in(client, StaffFactory())
    assert missing in client.get(reverse("analytics:run_detail", args=[run.pk])).content.decode()
    assert missing in client.get(reverse("analytics:dashboard")).content.decode()
