"""The teacher's earnings page, the payout request with its confirmation step, and the monthly
statement page and CSV."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import signed_in
from tests.tokenecon.payout_world import AFTER_WINDOW, BOUGHT_AT, sell, teacher_with_available
from tokenecon.models import PayoutRequest, PayoutStatus, Transfer
from tokenecon.services.earnings import teacher_balances
from tokenecon.services.payouts import approve_payout, reject_payout, request_payout

pytestmark = pytest.mark.django_db

EARNINGS = reverse("pricing:earnings")
PAYOUT = reverse("pricing:payout_request")


def stat(body: str, testid: str) -> str:
    return body.split(f'data-testid="{testid}"')[1].split("</div>")[0]


def test_the_page_shows_the_four_balances_the_identity_and_when_pending_clears(client):
    teacher = teacher_with_available()  # 800 available
    sell(teacher, price_tokens=500, at=timezone.now())  # 400 pending: bought just now
    staff = StaffFactory()
    paid = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="a", at=AFTER_WINDOW)
    approve_payout(paid, by=staff, reference="BANK-7")
    body = signed_in(client, teacher.user).get(EARNINGS).content.decode()
    assert "400 tokens" in stat(body, "pending") and "next clears" in stat(body, "pending")
    assert "300 tokens" in stat(body, "available")
    assert "0 tokens" in stat(body, "held")
    assert "500 tokens" in stat(body, "paid")
    assert "✓" in body.split('data-testid="identity"')[1].split("</p>")[0]
    assert "BANK-7" in body and "Paid" in body
    assert 'id="pending"' in body and 'id="course-earnings"' in body
    assert "The minimum payout is 500 tokens" in body


def test_a_teacher_below_the_minimum_is_told_so(client):
    teacher = TeacherFactory()
    body = signed_in(client, teacher.user).get(EARNINGS).content.decode()
    assert 'data-testid="payout-unavailable"' in body
    assert 'id="payout-form"' not in body


def test_requesting_a_payout_confirms_first_then_holds(client):
    teacher = teacher_with_available()
    signed_in(client, teacher.user)
    confirm = client.post(PAYOUT, {"amount_tokens": "600", "key": "form-key-1"})
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert 'data-testid="payout-confirm"' in text and "600 tokens" in text and "60.00 USD" in text
    assert "800 tokens available becomes 200 tokens" in text
    assert not PayoutRequest.objects.exists()
    done = client.post(PAYOUT, {"amount_tokens": "600", "key": "form-key-1", "confirm": "1"})
    assert done.status_code == 302 and done["Location"] == EARNINGS
    payout = PayoutRequest.objects.get()
    assert (payout.amount_tokens, payout.status) == (600, PayoutStatus.REQUESTED)
    # A double submit of the confirmation is the same request.
    client.post(PAYOUT, {"amount_tokens": "600", "key": "form-key-1", "confirm": "1"})
    assert PayoutRequest.objects.count() == 1
    page = client.get(EARNINGS).content.decode()
    assert "is with staff" in page and "Requested" in page


def test_all_available_takes_the_whole_balance(client):
    teacher = teacher_with_available()
    signed_in(client, teacher.user)
    confirm = client.post(PAYOUT, {"all_available": "1", "key": "k"}).content.decode()
    assert 'name="amount_tokens" value="800"' in confirm


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Enter how many tokens to pay out"),
        ("499", "The minimum payout is 500 tokens; you asked for 499."),
        ("801", "You asked for 801 tokens but only 800 are available."),
        ("abc", "Enter a whole number."),
        ("１０００", "Enter a whole number."),
        ("-1", "greater than or equal to 1"),
    ],
)
def test_bad_amounts_are_form_errors_and_write_nothing(client, amount, message):
    teacher = teacher_with_available()
    before = Transfer.objects.count()
    response = signed_in(client, teacher.user).post(
        PAYOUT, {"amount_tokens": amount, "key": "k", "confirm": "1"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PayoutRequest.objects.exists() and Transfer.objects.count() == before


def test_a_refusal_by_the_service_is_shown_on_the_form(client, settings):
    teacher = teacher_with_available()
    signed_in(client, teacher.user)
    # The form saw 800 available; meanwhile another request took 500 of it.
    request_payout(teacher=teacher, amount_tokens=500, idempotency_key="api", at=AFTER_WINDOW)
    response = client.post(PAYOUT, {"amount_tokens": "500", "key": "k", "confirm": "1"})
    assert response.status_code == 400
    assert "only 300 are available" in response.content.decode()
    assert PayoutRequest.objects.count() == 1


def test_the_htmx_form_swaps_the_panel(client):
    teacher = teacher_with_available()
    signed_in(client, teacher.user)
    confirm = client.post(PAYOUT, {"amount_tokens": "500", "key": "k"}, HTTP_HX_REQUEST="true")
    assert confirm.status_code == 200 and confirm.content.decode().lstrip().startswith(
        '<section class="card" id="payout-panel"'
    )
    error = client.post(PAYOUT, {"amount_tokens": "5", "key": "k"}, HTTP_HX_REQUEST="true")
    assert error.status_code == 200 and "The minimum payout is 500 tokens" in error.content.decode()
    done = client.post(PAYOUT, {"amount_tokens": "500", "key": "k", "confirm": "1"}, HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == EARNINGS


def test_the_statement_page_and_csv_reconcile(client):
    teacher = teacher_with_available()
    staff = StaffFactory()
    payout = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="a", at=AFTER_WINDOW)
    reject_payout(payout, by=staff, reason="check", at=AFTER_WINDOW)
    signed_in(client, teacher.user)
    march = client.get(reverse("pricing:statement"), {"month": f"{BOUGHT_AT:%Y-%m}"})
    assert march.status_code == 200
    body = march.content.decode()
    assert "Gross sales (paid by learners)" in body and "1,000 tokens" in body
    assert "✓" in body.split('data-testid="reconciles"')[1].split("</p>")[0]
    april = client.get(reverse("pricing:statement_csv"), {"month": f"{AFTER_WINDOW:%Y-%m}"})
    assert april["Content-Type"].startswith("text/csv")
    assert "attachment" in april["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(april.content.decode())))
    closing = next(r for r in rows if r[2:3] == ["closing"])
    balances = teacher_balances(teacher)
    assert [int(v) for v in closing[7:10]] == [balances.pending, balances.available, balances.held]
    assert client.get(reverse("pricing:statement")).status_code == 200  # this month by default


@pytest.mark.parametrize("month", ["2026-13", "nope", "1999-01"])
def test_a_bad_month_is_a_400_with_the_reason(client, month):
    teacher = TeacherFactory()
    signed_in(client, teacher.user)
    page = client.get(reverse("pricing:statement"), {"month": month})
    assert page.status_code == 400 and 'data-testid="statement-error"' in page.content.decode()
    assert client.get(reverse("pricing:statement_csv"), {"month": month}).status_code == 400


def test_the_learner_downloads_their_wallet_statement(client):
    enrollment = sell(TeacherFactory(), price_tokens=100)
    learner = enrollment.learner
    signed_in(client, learner.user)
    wallet = client.get(reverse("learners:wallet")).content.decode()
    assert reverse("learners:wallet_statement") in wallet
    response = client.get(reverse("learners:wallet_statement"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [r[2] for r in rows[1:]] == ["top_up", "purchase"] and rows[-1][-1] == "0"
    # Another learner's statement has none of it.
    other = LearnerFactory()
    signed_in(client, other.user)
    assert (
        len(list(csv.reader(io.StringIO(client.get(reverse("learners:wallet_statement")).content.decode()))))
        == 1
    )
