"""The learner portal's token packs: the wallet lists the packs with their money price, a pack's
confirmation states tokens, price and currency, confirming makes one order (a double submit too),
the demo card form pays or declines, the result page says what happened, and someone else's
order is a 404. Caps are refused on the confirmation with their message, nothing written."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import LearnerFactory, TopUpOrderFactory
from tests.helpers import signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.models import OrderStatus, TopUpOrder, Transfer, TransferKind
from tokenecon.services.accounts import wallet_of

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER_TOKEN = "fedcba9876543210fedcba9876543210"
GOOD_CARD = "4242 4242 4242 4242"


@pytest.fixture
def buyer(client, learner):
    signed_in(client, learner.user)
    return learner


def balance(learner) -> int:
    return wallet_of(learner).balance_tokens


def confirm(client, pack="regular", token=TOKEN, **data):
    return client.post(reverse("learners:buy_pack", args=[pack]), {"form_token": token, **data})


def pay(client, order, card=GOOD_CARD, **data):
    return client.post(reverse("learners:pay_order", args=[order.pk]), {"card_number": card, **data})


def test_wallet_lists_the_packs_with_their_money_price_and_no_free_amount_form(client, buyer):
    html = client.get(reverse("learners:wallet")).content.decode()
    assert "1,200" in html and "110.00 USD" in html and "250.00 USD" in html
    assert reverse("learners:buy_pack", args=["regular"]) in html
    assert "amount_tokens" not in html
    assert client.post(reverse("learners:wallet"), {"amount_tokens": "250"}).status_code == 405
    assert balance(buyer) == 0


def test_a_shortfall_link_points_at_the_cheapest_pack_that_covers_it_and_keeps_next(client, buyer, course):
    course_url = reverse("learners:course_detail", args=[course.code])
    response = client.get(reverse("learners:wallet"), {"amount": "700", "next": course_url})
    assert response.context["suggested_pack"].code == "regular"
    html = response.content.decode()
    assert "the Regular pack (1,200 tokens) covers it" in html
    assert reverse("learners:buy_pack", args=["regular"]) + "?next=" in html
    for asked in ("0", "abc", "１００", "-5"):
        assert client.get(reverse("learners:wallet"), {"amount": asked}).context["suggested_pack"] is None
    evil = client.get(reverse("learners:wallet"), {"amount": "5", "next": "https://evil.example/"})
    assert evil.context["next_url"] == ""


def test_the_confirmation_states_tokens_money_price_and_currency(client, buyer):
    response = client.get(reverse("learners:buy_pack", args=["regular"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="confirm-tokens">1,200 tokens' in html
    assert 'data-testid="confirm-money">110.00 USD' in html
    assert 'data-testid="confirm-currency">USD' in html
    assert len(response.context["form"]["form_token"].value()) == 32
    assert not TopUpOrder.objects.exists()
    assert client.get(reverse("learners:buy_pack", args=["huge"])).status_code == 404


def test_buying_a_pack_with_the_demo_card_adds_its_tokens_and_says_so(client, buyer):
    response = confirm(client)
    order = TopUpOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "learners:pay_order", args=[order.pk]
    )
    assert order.status == OrderStatus.PENDING and order.learner == buyer and balance(buyer) == 0
    form = client.get(response["Location"])
    assert form.status_code == 200 and "4000 0000 0000 0002" in form.content.decode()
    paid = pay(client, order)
    assert paid["Location"] == reverse("learners:order_detail", args=[order.pk])
    result = client.get(paid["Location"]).content.decode()
    assert "Paid: 1,200 tokens added." in result
    assert balance(buyer) == 1200
    # The card form of a paid order sends to its result; paying again credits nothing.
    assert client.get(reverse("learners:pay_order", args=[order.pk]))["Location"] == paid["Location"]
    pay(client, order)
    assert balance(buyer) == 1200 and Transfer.objects.filter(kind=TransferKind.TOP_UP).count() == 1
    assert_ledger_consistent()


def test_the_decline_card_says_declined_and_nothing_was_charged(client, buyer):
    confirm(client, pack="starter")
    order = TopUpOrder.objects.get()
    response = pay(client, order, card="4000 0000 0000 0002")
    result = client.get(response["Location"]).content.decode()
    assert "Declined: Your card was declined (the demo decline card). Nothing was charged." in result
    assert balance(buyer) == 0 and not Transfer.objects.exists()


@pytest.mark.parametrize(
    ("card", "message"),
    [("4242 4242 4242 4241", "check digit"), ("1234", "16 digits"), ("", "Enter the card number")],
)
def test_a_malformed_card_is_a_form_error_and_the_order_stays_payable(client, buyer, card, message):
    confirm(client)
    order = TopUpOrder.objects.get()
    response = pay(client, order, card=card)
    assert response.status_code == 400 and message in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and balance(buyer) == 0


def test_a_double_submitted_confirmation_makes_one_order_and_another_pack_is_refused(client, buyer):
    confirm(client)
    second = confirm(client)
    order = TopUpOrder.objects.get()
    assert second["Location"] == reverse("learners:pay_order", args=[order.pk])
    pay(client, order)
    # The same confirmation once more: its order is decided, so its result is shown.
    assert confirm(client)["Location"] == reverse("learners:order_detail", args=[order.pk])
    conflict = confirm(client, pack="big")
    assert conflict.status_code == 409 and "already used to order another pack" in conflict.content.decode()
    assert TopUpOrder.objects.count() == 1 and balance(buyer) == 1200


def test_a_confirmation_without_its_form_token_is_refused_and_orders_nothing(client, buyer):
    response = client.post(reverse("learners:buy_pack", args=["regular"]), {})
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert confirm(client, token="x' OR 1").status_code == 400
    assert not TopUpOrder.objects.exists()


def test_next_is_carried_to_the_result_page_only_when_it_is_this_site(client, buyer, course):
    course_url = reverse("learners:course_detail", args=[course.code])
    to_card = confirm(client, next=course_url)["Location"]
    order = TopUpOrder.objects.get()
    assert to_card.startswith(reverse("learners:pay_order", args=[order.pk]) + "?next=")
    result = pay(client, order, next=course_url)["Location"]
    assert f'href="{course_url}"' in client.get(result).content.decode()
    other = confirm(client, token=OTHER_TOKEN, next="https://evil.example/")["Location"]
    assert "evil" not in other


def test_canceling_a_pending_order_credits_nothing(client, buyer):
    confirm(client)
    order = TopUpOrder.objects.get()
    response = client.post(reverse("learners:cancel_order", args=[order.pk]))
    assert response["Location"] == reverse("learners:wallet")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert (
        "Nothing was charged"
        in client.get(reverse("learners:order_detail", args=[order.pk])).content.decode()
    )
    pay(client, order)
    assert balance(buyer) == 0


def test_another_learners_order_is_a_404_and_is_left_alone(client, buyer):
    stranger = TopUpOrderFactory(learner=LearnerFactory())
    for name in ("order_detail", "pay_order"):
        assert client.get(reverse(f"learners:{name}", args=[stranger.pk])).status_code == 404
    assert pay(client, stranger).status_code == 404
    assert client.post(reverse("learners:cancel_order", args=[stranger.pk])).status_code == 404
    stranger.refresh_from_db()
    assert stranger.status == OrderStatus.PENDING and balance(stranger.learner) == 0


def test_a_stripe_order_has_no_card_form_here(client, buyer):
    order = TopUpOrderFactory(learner=buyer, provider="stripe")
    assert client.get(reverse("learners:pay_order", args=[order.pk])).status_code == 404
    html = client.get(reverse("learners:order_detail", args=[order.pk])).content.decode()
    assert "Awaiting payment" in html and "payment provider confirms" in html


def test_with_stripe_configured_without_a_key_the_order_fails_and_says_why(client, buyer, settings):
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = ""
    response = confirm(client)
    order = TopUpOrder.objects.get()
    assert order.provider == "stripe" and order.status == OrderStatus.FAILED
    assert response["Location"] == reverse("learners:order_detail", args=[order.pk])
    html = client.get(response["Location"]).content.decode()
    assert "STRIPE_SECRET_KEY is empty" in html and balance(buyer) == 0


def test_wallet_lists_the_latest_orders_with_their_status(client, buyer):
    confirm(client, pack="starter")
    pay(client, TopUpOrder.objects.get(), card="4000 0000 0000 0002")
    html = client.get(reverse("learners:wallet")).content.decode()
    assert 'id="top-up-orders"' in html and "Failed" in html


def test_an_htmx_confirmation_is_followed_with_a_client_redirect(client, buyer):
    url = reverse("learners:buy_pack", args=["regular"])
    response = client.post(url, {"form_token": TOKEN}, HTTP_HX_REQUEST="true")
    order = TopUpOrder.objects.get()
    assert response["HX-Redirect"] == reverse("learners:pay_order", args=[order.pk])
