"""The admin for top-up orders and payment events: read-only, links to the ledger transfers, and
a refund action that asks for confirmation, then refunds each unspent top-up on its own."""

from __future__ import annotations

import pytest

from tests.factories import CourseFactory, LearnerFactory, PaymentEventFactory
from tests.helpers import signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.models import OrderStatus, Transfer, TransferKind
from tokenecon.services.accounts import wallet_of
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.payments import create_top_up_order, pay_order_with_card

pytestmark = pytest.mark.django_db

URL = "/admin/tokenecon/topuporder/"


def paid(learner, key):
    order = create_top_up_order(learner=learner, pack_code="starter", client_key=key, provider="demo")
    return pay_order_with_card(order=order, card_number="4242424242424242")


def test_refund_action_asks_first_then_refunds_unspent_and_reports_spent(client, staff):
    unspent, spender = LearnerFactory(), LearnerFactory()
    kept, spent = paid(unspent, "a"), paid(spender, "b")
    purchase_course(learner=spender, course=CourseFactory(price_tokens=100), idempotency_key="spend")
    admin = signed_in(client, staff)
    data = {"action": "refund_selected_top_ups", "_selected_action": [kept.pk, spent.pk]}
    ask = admin.post(URL, data)
    assert ask.status_code == 200 and b"Refund top-ups?" in ask.content
    assert b"Yes, refund 2 paid orders" in ask.content
    assert not Transfer.objects.filter(kind=TransferKind.TOP_UP_REFUND).exists()
    done = admin.post(URL, {**data, "post": "yes"}, follow=True)
    text = done.content.decode()
    assert "Refunded 1 top-up order(s)." in text
    assert f"Not refunded order {spent.pk}: Order {spent.pk} added 500 tokens but the wallet of" in text
    kept.refresh_from_db()
    spent.refresh_from_db()
    assert kept.status == OrderStatus.REFUNDED and wallet_of(unspent).balance_tokens == 0
    assert spent.status == OrderStatus.PAID and wallet_of(spender).balance_tokens == 400
    assert_ledger_consistent()


def test_orders_and_events_are_read_only_with_ledger_links(client, staff, learner):
    order = paid(learner, "a")
    event = PaymentEventFactory(order=order, outcome="credited 500 tokens")
    admin = signed_in(client, staff)
    page = admin.get(f"{URL}{order.pk}/change/").content.decode()
    assert f"/admin/tokenecon/transfer/{order.transfer_id}/change/" in page
    assert f"order:{order.pk}:credit" in page and "credited 500 tokens" in page
    assert admin.get(URL).status_code == 200
    assert admin.get(f"/admin/tokenecon/paymentevent/{event.pk}/change/").status_code == 200
    assert (
        f"/admin/tokenecon/topuporder/{order.pk}/change/"
        in admin.get("/admin/tokenecon/paymentevent/").content.decode()
    )
    for url in (f"{URL}add/", f"{URL}{order.pk}/delete/", "/admin/tokenecon/paymentevent/add/"):
        assert admin.get(url).status_code == 403, url
    admin.post(f"{URL}{order.pk}/change/", {"status": "refunded"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
