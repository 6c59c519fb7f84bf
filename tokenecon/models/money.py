"""Teacher money and learner payments around the ledger: coupons, payout requests and top-up
orders paid through a payment provider. Balances live in the ledger; these rows record the
requests and decisions that caused its transfers."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class CouponKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Tokens off"


class CouponScope(models.TextChoices):
    COURSE = "course", "One course"
    TEACHER = "teacher", "All of a teacher's courses"
    CATEGORY = "category", "A category"
    ALL = "all", "Every course"


class CouponFunder(models.TextChoices):
    # Teacher: the teacher's share is computed on the discounted price. Platform: the teacher is
    # credited as at list price and the platform absorbs the difference.
    TEACHER = "teacher", "Teacher"
    PLATFORM = "platform", "Platform"


class Coupon(models.Model):
    code = models.CharField(
        max_length=32, unique=True, help_text="Stored upper-case; matched case-insensitively"
    )
    kind = models.CharField(max_length=8, choices=CouponKind, default=CouponKind.PERCENT)
    percent_off = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    tokens_off = models.PositiveIntegerField(null=True, blank=True)
    scope = models.CharField(max_length=8, choices=CouponScope, default=CouponScope.COURSE)
    course = models.ForeignKey(
        "tokenecon.Course", on_delete=models.PROTECT, null=True, blank=True, related_name="coupons"
    )
    teacher = models.ForeignKey(
        "tokenecon.Teacher", on_delete=models.PROTECT, null=True, blank=True, related_name="coupons"
    )
    category = models.CharField(max_length=32, blank=True)
    funded_by = models.CharField(max_length=8, choices=CouponFunder, default=CouponFunder.TEACHER)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Total uses; empty is unlimited")
    max_uses_per_learner = models.PositiveIntegerField(default=1)
    uses_count = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="percent", percent_off__isnull=False, percent_off__gt=0, percent_off__lte=100)
                )
                | (Q(kind="fixed", tokens_off__isnull=False, tokens_off__gt=0)),
                name="coupon_amount_matches_kind",
            ),
            models.CheckConstraint(
                condition=(Q(scope="course", course__isnull=False))
                | Q(scope="teacher", teacher__isnull=False)
                | (Q(scope="category") & ~Q(category=""))
                | Q(scope="all"),
                name="coupon_scope_has_target",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses_count__lte=models.F("max_uses")),
                name="coupon_uses_within_cap",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=models.F("valid_from")),
                name="coupon_valid_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PayoutStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PAID = "paid", "Paid"
    REJECTED = "rejected", "Rejected"


class PayoutRequest(models.Model):
    teacher = models.ForeignKey("tokenecon.Teacher", on_delete=models.PROTECT, related_name="payout_requests")
    amount_tokens = models.PositiveIntegerField()
    money_amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=PayoutStatus, default=PayoutStatus.REQUESTED)
    idempotency_key = models.CharField(
        max_length=160, unique=True, help_text="Teacher-scoped: '<teacher id>:<client key>'"
    )
    hold_transfer = models.OneToOneField(
        "tokenecon.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="payout_hold_of"
    )
    settle_transfer = models.OneToOneField(
        "tokenecon.Transfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout_settled_by",
        help_text="The payout (approved) or the return of the hold (rejected)",
    )
    provider = models.CharField(max_length=32, blank=True)
    provider_reference = models.CharField(max_length=128, blank=True)
    reason = models.CharField(max_length=255, blank=True, help_text="Why it was rejected, or a note")
    requested_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "requested_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount_tokens__gt=0), name="payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk} of {self.amount_tokens} tokens ({self.status})"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Abandoned"
    REFUNDED = "refunded", "Refunded"


class TopUpOrder(models.Model):
    """A learner buying a pack of tokens; tokens are credited only once the provider says paid."""

    learner = models.ForeignKey("tokenecon.Learner", on_delete=models.PROTECT, related_name="top_up_orders")
    pack = models.CharField(max_length=32)
    tokens = models.PositiveIntegerField()
    money_amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=OrderStatus, default=OrderStatus.PENDING)
    provider_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    provider_payment_ref = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=160, unique=True)
    transfer = models.OneToOneField(
        "tokenecon.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="top_up_order"
    )
    refund_transfer = models.OneToOneField(
        "tokenecon.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="refunded_order"
    )
    created_at = models.DateTimeField(db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(tokens__gt=0), name="order_tokens_positive")]

    def __str__(self) -> str:
        return f"Order {self.pk}: {self.tokens} tokens ({self.status})"


class PaymentEvent(models.Model):
    """A provider's webhook event, stored once by its id so a replay credits nothing twice."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=64)
    order = models.ForeignKey(
        TopUpOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    outcome = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payment_event_once_per_provider")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"
