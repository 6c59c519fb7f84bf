"""Latest propensity scores per learner, and personalised offers."""

from django.db import models
from django.db.models import Q


class LearnerScore(models.Model):
    """The latest scores of one learner, with the model versions that produced them."""

    learner = models.OneToOneField("tokenecon.Learner", on_delete=models.CASCADE, related_name="score")
    scored_at = models.DateTimeField()
    enroll_prob = models.FloatField(help_text="Chance to enroll within 30 days")
    churn_prob = models.FloatField(help_text="Chance of no activity in the next 60 days")
    complete_prob = models.FloatField(null=True, blank=True, help_text="Chance to complete a current course")
    upsell_prob = models.FloatField(null=True, blank=True, help_text="Chance to buy another, pricier course")
    price_sensitivity = models.FloatField(help_text="0 (indifferent to price) to 1 (very sensitive)")
    segment = models.CharField(max_length=8)
    churn_risk = models.CharField(max_length=8)
    model_versions = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["segment"]), models.Index(fields=["churn_risk"])]

    def __str__(self) -> str:
        return f"{self.learner_id}: {self.segment}"


class Offer(models.Model):
    class Status(models.TextChoices):
        SHOWN = "shown", "Shown"
        REDEEMED = "redeemed", "Redeemed"
        EXPIRED = "expired", "Expired"

    learner = models.ForeignKey("tokenecon.Learner", on_delete=models.CASCADE, related_name="offers")
    course = models.ForeignKey(
        "tokenecon.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="offers"
    )
    category = models.CharField(max_length=32, blank=True, help_text="For an offer on a whole category")
    discount_pct = models.DecimalField(max_digits=5, decimal_places=2)
    reason = models.CharField(max_length=255)
    policy = models.CharField(max_length=16, default="model", help_text="model, seed_rule or oracle")
    scores = models.JSONField(default=dict, help_text="The scores the offer was chosen from")
    expected_incremental_tokens = models.FloatField(default=0)
    channel = models.CharField(max_length=16, default="in_app")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status, default=Status.SHOWN)
    enrollment = models.OneToOneField(
        "tokenecon.Enrollment", on_delete=models.SET_NULL, null=True, blank=True, related_name="offer"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["learner", "status"]), models.Index(fields=["expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_pct__gte=0, discount_pct__lt=100), name="offer_discount_0_100"
            ),
            models.CheckConstraint(
                condition=Q(course__isnull=False) | ~Q(category=""), name="offer_has_course_or_category"
            ),
        ]

    def __str__(self) -> str:
        target = self.course_id or self.category
        return f"{self.discount_pct}% on {target} for {self.learner_id} ({self.status})"
