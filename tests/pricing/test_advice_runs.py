"""An advice run that fails: the run records the failure with its message and the task fails."""

import pytest

from pricing.models import AdviceRun
from pricing.services import model_source
from pricing.services.advice import run_advice_recompute, start_advice_recompute
from pricing.tasks import compute_price_recommendations
from tests.factories import AdviceRunFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_model(monkeypatch):
    def provider():
        raise model_source.NoDemandModel("No production version of demand.")

    monkeypatch.setattr(model_source, "_provider", provider)


def test_a_failed_advice_run_records_the_failure_with_its_message(no_model):
    run = AdviceRunFactory()
    with pytest.raises(model_source.NoDemandModel):
        compute_price_recommendations.apply(args=[run.pk]).get()
    run.refresh_from_db()
    assert run.status == "failed" and run.is_finished
    assert run.error == "No production version of demand."
    assert run.finished_at is not None and run.progress_pct == 0


def test_a_command_run_without_a_model_fails_and_is_recorded(no_model):
    with pytest.raises(model_source.NoDemandModel):
        run_advice_recompute()
    assert AdviceRun.objects.get().status == "failed"


def test_starting_a_recompute_queues_nothing_until_the_run_is_committed(
    django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "pricing.services.advice.current_app.send_task", lambda name, args: sent.append((name, args))
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = start_advice_recompute(user=StaffFactory())
    assert sent == [] and len(callbacks) == 1
    callbacks[0]()
    assert sent == [("pricing.compute_price_recommendations", [run.pk])]
    assert run.status == "queued" and run.progress_pct == 0
