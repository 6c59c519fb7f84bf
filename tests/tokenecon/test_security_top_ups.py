"""Top-ups have no payment step yet, so a learner's own top-up is capped per top-up and per 24
hours (settings), refused with a clear 4xx that writes nothing; operators' funding, the
simulator and CSV imports are not capped."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from learners.forms import TopUpForm
from tests.factories import LearnerFactory
from tests.helpers import signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.csv_io import import_csv
from tokenecon.errors import TopUpLimitExceeded
from tokenecon.models import Learner, Transfer, TransferKind
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


def test_the_form_takes_its_maximum_from_the_setting(db, settings):
    settings.TOKEN_TOP_UP_MAX_TOKENS = 750
    form = TopUpForm({"amount_tokens": "751", "form_token": TOKEN})
    assert not form.is_valid() and "Buy at most 750 tokens at a time." in form.errors["amount_tokens"]
    assert 'max="750"' in str(form["amount_tokens"])
    assert TopUpForm({"amount_tokens": "750", "form_token": TOKEN}).is_valid()
    assert TopUpForm.new(asked_amount="751", next_url="").initial.get("amount_tokens") is None
    assert TopUpForm.new(asked_amount="750", next_url="").initial["amount_tokens"] == 750


def test_the_wallet_page_refuses_a_top_up_over_the_daily_cap_with_its_message(client, db):
    learner = LearnerFactory()
    signed_in(client, learner.user)
    url = reverse("learners:wallet")
    for i in range(2):
        assert client.post(url, {"amount_tokens": "1000", "form_token": f"{i:032x}"}).status_code == 302
    response = client.post(url, {"amount_tokens": "1000", "form_token": "f" * 32})
    assert response.status_code == 400
    assert "2,500 tokens in 24 hours; 500 more are possible now" in response.content.decode()
    assert wallet_of(learner).balance_tokens == 2_000
    assert Transfer.objects.filter(kind=TransferKind.TOP_UP).count() == 2
    too_big = client.post(url, {"amount_tokens": "1001", "form_token": "e" * 32})
    assert too_big.status_code == 400 and "Buy at most 1,000 tokens at a time." in too_big.content.decode()
