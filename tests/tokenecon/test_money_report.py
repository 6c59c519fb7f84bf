"""``manage.py money_report``: every teacher's balances and statements reconciled with the ledger,
the platform's totals, and an error when anything does not add up."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from tests.tokenecon.test_statements_coupons import world  # noqa: F401  (the fixture)
from tokenecon.management.commands.money_report import build_report
from tokenecon.models import AccountKind, TransferKind
from tokenecon.services.earnings import available_of
from tokenecon.services.ledger import TransferSpec, platform_account, post_transfer_locked

pytestmark = pytest.mark.django_db


def report_text() -> str:
    out = io.StringIO()
    call_command("money_report", stdout=out)
    return out.getvalue()


def test_the_report_reconciles_coupons_refunds_and_payouts(world):  # noqa: F811
    text = report_text()
    assert "Everything reconciles." in text
    assert "pending + available + held + paid = 1,500; earned - refunded = 1,500" in text
    assert "gross sales 2,000, commission 300, platform-funded discounts 300, earned 2,000" in text
    assert "coupon redemptions" in text and "Ledger: all balances sum to 0" in text
    report = build_report()
    (line,) = report.teachers
    assert line.ok and line.months >= 2
    assert (line.balances.earned, line.balances.refunded, line.balances.paid) == (2000, 500, 1500)
    assert report.platform["coupon redemptions"] == 3
    assert report.platform["of them 100% (nothing moved)"] == 1
    assert report.platform["payout requests paid"] == 1


def test_an_empty_ledger_reconciles():
    assert "Everything reconciles." in report_text()


def test_money_outside_the_identity_is_reported_and_fails(world):  # noqa: F811
    teacher = world["teacher"]
    with transaction.atomic():
        post_transfer_locked(
            TransferSpec(
                kind=TransferKind.ADJUSTMENT,
                idempotency_key="stray-adjustment",
                legs=(
                    (platform_account(AccountKind.PLATFORM_TREASURY).pk, -7),
                    (available_of(teacher).pk, 7),
                ),
                memo="a stray adjustment",
            )
        )
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"Money does not reconcile \(1 teacher"):
        call_command("money_report", stdout=out)
    assert "identity does not hold" in out.getvalue()
    assert "adjustments of 7 outside the identity" in out.getvalue()
