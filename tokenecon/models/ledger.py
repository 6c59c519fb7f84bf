"""The double-entry token ledger.

Transfers and entries are append-only: saving an existing row, deleting one, or bulk updating
or deleting through a queryset raises ``LedgerImmutable``. A mistake is corrected by a reversing
transfer. ``Account.balance_tokens`` is kept in step with the entries by the ledger service, and
the database refuses a negative balance on learner and teacher accounts.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from tokenecon.errors import LedgerImmutable


class AccountKind(models.TextChoices):
    LEARNER_WALLET = "learner_wallet", "Learner wallet"
    # A teacher's money has three places: pending (inside the refund window), available (the
    # historical "teacher_earnings" kind, so older rows keep their meaning) and held for a payout
    # request. What has been paid out has left the economy (back to the treasury).
    TEACHER_PENDING = "teacher_pending", "Teacher earnings (pending)"
    TEACHER_EARNINGS = "teacher_earnings", "Teacher earnings (available)"
    TEACHER_PAYOUT_HOLD = "teacher_payout_hold", "Teacher payout hold"
    PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
    PLATFORM_TREASURY = "platform_treasury", "Platform treasury"


PLATFORM_KINDS = (AccountKind.PLATFORM_REVENUE, AccountKind.PLATFORM_TREASURY)
TEACHER_KINDS = (AccountKind.TEACHER_PENDING, AccountKind.TEACHER_EARNINGS, AccountKind.TEACHER_PAYOUT_HOLD)
OWNED_KINDS = (AccountKind.LEARNER_WALLET, *TEACHER_KINDS)
NON_NEGATIVE_KINDS = (
    AccountKind.LEARNER_WALLET,
    *TEACHER_KINDS,
    AccountKind.PLATFORM_REVENUE,
)


class Account(models.Model):
    kind = models.CharField(max_length=24, choices=AccountKind)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="token_accounts",
    )
    balance_tokens = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "owner"],
                condition=Q(owner__isnull=False),
                name="account_one_per_kind_and_owner",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(owner__isnull=True),
                name="account_one_platform_account_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(owner__isnull=True, kind__in=PLATFORM_KINDS)
                | Q(owner__isnull=False, kind__in=list(OWNED_KINDS)),
                name="account_owner_matches_kind",
            ),
            # The treasury issues tokens, so only it may go below zero.
            models.CheckConstraint(
                condition=Q(balance_tokens__gte=0) | Q(kind=AccountKind.PLATFORM_TREASURY),
                name="account_balance_non_negative",
            ),
        ]

    def __str__(self) -> str:
        owner = self.owner.username if self.owner_id else "platform"
        return f"{self.get_kind_display()} ({owner})"


class TransferKind(models.TextChoices):
    TOP_UP = "top_up", "Top-up"
    PURCHASE = "purchase", "Purchase"
    REFUND = "refund", "Refund"
    PAYOUT = "payout", "Payout"
    # Teacher money lifecycle: pending -> available after the refund window (release), available
    # -> hold on a payout request, hold -> treasury on approval (payout) or back on rejection.
    RELEASE = "release", "Earnings release"
    PAYOUT_REQUEST = "payout_request", "Payout request hold"
    PAYOUT_RETURN = "payout_return", "Payout request returned"
    TOP_UP_REFUND = "top_up_refund", "Top-up refund"
    REWARD = "reward", "Reward"
    ADJUSTMENT = "adjustment", "Adjustment"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerImmutable(f"{self.model.__name__} rows are append-only.")

    def delete(self):
        raise LedgerImmutable(f"{self.model.__name__} rows are append-only.")

    _raw_delete = delete


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Guard, not business logic: an existing ledger row must never change.
        if not self._state.adding:
            raise LedgerImmutable(f"{type(self).__name__} {self.pk} is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutable(f"{type(self).__name__} {self.pk} is append-only.")


class Transfer(AppendOnlyModel):
    kind = models.CharField(max_length=16, choices=TransferKind)
    idempotency_key = models.CharField(max_length=128, unique=True)
    memo = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(db_index=True)
    enrollment = models.ForeignKey(
        "tokenecon.Enrollment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers",
    )
    coupon = models.ForeignKey(
        "tokenecon.Coupon",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers",
        help_text="The coupon redeemed by this purchase",
    )
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        help_text="The transfer this one reverses, for corrections and refunds",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.idempotency_key}"


class Entry(AppendOnlyModel):
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount_tokens = models.BigIntegerField(help_text="Positive credits the account, negative debits it")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "entries"
        indexes = [models.Index(fields=["account", "transfer"])]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_tokens=0), name="entry_amount_non_zero"),
            models.UniqueConstraint(fields=["transfer", "account"], name="entry_one_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_tokens:+,d} tokens, {self.account}"
