"""A learner's own top-up is capped per top-up and per 24 hours (settings), refused with a clear
4xx that writes nothing; operators' funding, the simulator and CSV imports are not capped. The
portal buys packs through a payment provider: the caps are checked when the order is made,
before anything is paid (tokenecon.services.payments; more in tests/tokenecon/test_payments.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import LearnerFactory
from tests.helpers import signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.csv_io import import_csv
from tokenecon.errors import TopUpLimitExceeded
from tokenecon.models import Learner, TopUpOrder, Transfer, TransferKind
from tokenecon.services.accounts import top_up_wallet, wallet_of

TOKEN = "a" * 32


@pytest.fixture(autouse=True)
def _caps(settings):
    settings.TOKEN_TOP_UP_MAX_TOKENS = 1_000
    settings.TOKEN_TOP_UP_DAILY_MAX_TOKENS = 2_500


def buy(learner, amount: int, key: str, *, at=None):
    return top_up_wallet(
        learner=learner, amount_tokens=amount, idempotency_key=key, at=at, learner_initiated=True
    )


def test_a_top_up_over_the_per_top_up_cap_is_refused_and_writes_nothing(db):
    learner = LearnerFactory()
    with pytest.raises(TopUpLimitExceeded, match="at most 1,000 tokens; you asked for 1,001") as refused:
        buy(learner, 1_001, "big")
    assert refused.value.status_code == 400
    assert not Transfer.objects.exists() and wallet_of(learner).balance_tokens == 0
    buy(learner, 1_000, "ok")
    assert wallet_of(learner).balance_tokens == 1_000


def test_the_24_hour_cap_counts_every_top_up_of_the_day_and_lets_older_ones_go(db):
    learner = LearnerFactory()
    # Top-ups of more than 24 hours ago no longer count.
    day_before = timezone.now() - timedelta(hours=24, minutes=1)
    buy(learner, 1_000, "old-1", at=day_before)
    buy(learner, 1_000, "old-2", at=day_before)
    buy(learner, 1_000, "a")
    buy(learner, 1_000, "b")
    with pytest.raises(TopUpLimitExceeded, match="2,500 tokens in 24 hours; 500 more"):
        buy(learner, 501, "c")
    assert wallet_of(learner).balance_tokens == 4_000
    buy(learner, 500, "c")
    with pytest.raises(TopUpLimitExceeded, match="0 more"):
        buy(learner, 1, "d")
    # A retry of a top-up that went through replays it, allowance used up or not.
    assert buy(learner, 1_000, "a") == Transfer.objects.get(idempotency_key="a")
    assert wallet_of(learner).balance_tokens == 4_500
    # Another learner has an allowance of their own.
    buy(LearnerFactory(), 1_000, "other")
    assert_ledger_consistent()


def test_operators_funding_and_csv_imports_are_not_capped(db, settings):
    settings.TOKEN_TOP_UP_MAX_TOKENS = settings.TOKEN_TOP_UP_DAILY_MAX_TOKENS = 1
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=50_000, idempotency_key="seed")
    assert wallet_of(learner).balance_tokens == 50_000
    import_csv(
        kind="learners",
        source="external_id,joined_on,country,tokens_funded\nL90001,"
        + date.today().isoformat()
        + ",DE,7000\n",
    )
    assert wallet_of(Learner.objects.get(external_id="L90001")).balance_tokens == 7_000


def order(client, pack: str, token: str):
    return client.post(reverse("learners:buy_pack", args=[pack]), {"form_token": token})


def pay(client, response):
    return client.post(response["Location"].split("?")[0], {"card_number": "4242424242424242"})


def test_the_wallet_page_refuses_a_pack_over_the_caps_before_anything_is_paid(client, db):
    learner = LearnerFactory()
    signed_in(client, learner.user)
    for i in range(4):
        assert pay(client, order(client, "starter", f"{i:032x}")).status_code == 302
    assert wallet_of(learner).balance_tokens == 2_000
    # The fifth fits exactly; while it awaits payment it counts against the 24 hours.
    fifth = order(client, "starter", "e" * 32)
    assert fifth.status_code == 302
    refused = order(client, "starter", "f" * 32)
    assert refused.status_code == 400
    assert (
        "You can buy at most 2,500 tokens in 24 hours; 0 more are possible now "
        "(orders awaiting payment count too)." in refused.content.decode()
    )
    pay(client, fifth)
    assert wallet_of(learner).balance_tokens == 2_500
    again = order(client, "starter", "f" * 32)
    assert again.status_code == 400 and "0 more are possible now." in again.content.decode()
    # A pack over the per-top-up cap is refused whatever is left of the day.
    too_big = order(client, "regular", "d" * 32)
    assert too_big.status_code == 400
    assert "A top-up is at most 1,000 tokens; this pack has 1,200." in too_big.content.decode()
    assert TopUpOrder.objects.count() == 5
    assert Transfer.objects.filter(kind=TransferKind.TOP_UP).count() == 5
    assert_ledger_consistent()
