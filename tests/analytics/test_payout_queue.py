"""Staff decide payout requests on the dashboard queue and in the admin, with a confirmation."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import StaffFactory
from tests.helpers import signed_in
from tests.tokenecon.payout_world import AFTER_WINDOW, teacher_with_available
from tokenecon.models import PayoutRequest, PayoutStatus, Transfer, TransferKind
from tokenecon.services.earnings import teacher_balances
from tokenecon.services.payouts import request_payout

pytestmark = pytest.mark.django_db

QUEUE = reverse("analytics:payout_queue")
APPROVE = reverse("analytics:approve_payouts")


@pytest.fixture
def requests_():
    """Three requests of 500 from three teachers, requested a minute apart (oldest first)."""
    return [
        request_payout(
            teacher=teacher_with_available(),
            amount_tokens=500,
            idempotency_key=f"k{i}",
            at=AFTER_WINDOW + timedelta(minutes=i),
        )
        for i in range(3)
    ]


def test_the_queue_lists_requests_oldest_first(client, requests_):
    signed_in(client, StaffFactory())
    body = client.get(QUEUE).content.decode()
    positions = [body.index(f'name="ids" value="{p.pk}"') for p in requests_]
    assert positions == sorted(positions)
    assert "3 requests waiting" in body and "1,500 tokens" in body
    dashboard = client.get(reverse("analytics:dashboard")).content.decode()
    assert QUEUE in dashboard and "3 payout requests waiting" in dashboard


def test_bulk_approve_asks_to_confirm_then_pays(client, requests_, settings):
    settings.PAYOUT_PROVIDER = "test"
    signed_in(client, StaffFactory())
    ids = [requests_[0].pk, requests_[2].pk]
    confirm = client.post(APPROVE, {"ids": ids, "reference": "RUN-1"})
    assert confirm.status_code == 200
    assert "1,000 tokens" in confirm.content.decode()
    assert not Transfer.objects.filter(kind=TransferKind.PAYOUT).exists()
    done = client.post(APPROVE, {"ids": ids, "reference": "RUN-1", "confirm": "1"}, follow=True)
    assert "Paid 2 payout request(s), 1,000 tokens." in done.content.decode()
    statuses = dict(PayoutRequest.objects.values_list("pk", "status"))
    assert [statuses[p.pk] for p in requests_] == ["paid", "requested", "paid"]
    assert PayoutRequest.objects.get(pk=ids[0]).provider_reference == f"RUN-1-{ids[0]}"
    for payout in requests_:
        assert teacher_balances(payout.teacher).identity_holds


@pytest.mark.parametrize("ids", [["abc"], ["-1"], ["1.5"], ["9" * 30]])
def test_malformed_ids_are_a_400(client, ids):
    signed_in(client, StaffFactory())
    assert client.post(APPROVE, {"ids": ids}).status_code == 400


def test_nothing_selected_goes_back_to_the_queue(client, requests_):
    signed_in(client, StaffFactory())
    response = client.post(APPROVE, {"confirm": "1"})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert not PayoutRequest.objects.exclude(status=PayoutStatus.REQUESTED).exists()


def test_reject_with_a_reason(client, requests_):
    signed_in(client, StaffFactory())
    payout = requests_[1]
    url = reverse("analytics:reject_payout", args=[payout.pk])
    empty = client.post(url, {"reason": " "}, follow=True)
    assert "needs a reason" in empty.content.decode()
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.REQUESTED
    client.post(url, {"reason": "Bank details missing"})
    payout.refresh_from_db()
    assert (payout.status, payout.reason) == (PayoutStatus.REJECTED, "Bank details missing")
    assert teacher_balances(payout.teacher).available == 800
    assert client.post(reverse("analytics:reject_payout", args=[999999]), {"reason": "x"}).status_code == 404


def test_admin_lists_filters_and_approves_after_confirmation(client, requests_, settings):
    settings.PAYOUT_PROVIDER = "test"
    signed_in(client, StaffFactory())
    changelist = "/admin/tokenecon/payoutrequest/"
    assert client.get(changelist, {"status__exact": "requested"}).status_code == 200
    assert client.get(f"{changelist}{requests_[0].pk}/change/").status_code == 200
    assert client.get(f"{changelist}add/").status_code == 403
    ids = [p.pk for p in requests_[:2]]
    confirm = client.post(changelist, {"action": "approve_selected", "_selected_action": ids})
    assert confirm.status_code == 200 and 'data-testid="confirm-summary"' in confirm.content.decode()
    assert not Transfer.objects.filter(kind=TransferKind.PAYOUT).exists()
    done = client.post(
        changelist, {"action": "approve_selected", "_selected_action": ids, "post": "yes"}, follow=True
    )
    assert "Paid 2 payout request(s)." in done.content.decode()
    assert PayoutRequest.objects.filter(status=PayoutStatus.PAID).count() == 2


def test_admin_rejects_only_with_a_reason(client, requests_):
    signed_in(client, StaffFactory())
    changelist = "/admin/tokenecon/payoutrequest/"
    ids = [requests_[2].pk]
    no_reason = client.post(changelist, {"action": "reject_selected", "_selected_action": ids, "post": "yes"})
    assert no_reason.status_code == 200 and "needs a reason" in no_reason.content.decode()
    assert PayoutRequest.objects.get(pk=ids[0]).status == PayoutStatus.REQUESTED
    client.post(
        changelist,
        {"action": "reject_selected", "_selected_action": ids, "post": "yes", "reason": "Duplicate"},
        follow=True,
    )
    assert PayoutRequest.objects.get(pk=ids[0]).reason == "Duplicate"
