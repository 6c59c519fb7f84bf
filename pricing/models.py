"""Price recommendations, the admin's pricing settings and the runs that recompute the advice."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class PricingSettings(models.Model):
    """One row: which strategies are active, their weights, the objective and the guardrails."""

    class Objective(models.TextChoices):
        REVENUE = "revenue", "Platform revenue"
        TEACHER_EARNINGS = "teacher_earnings", "Teacher earnings"
        ENROLLMENTS = "enrollments", "Enrollments"

    objective = models.CharField(max_length=20, choices=Objective, default=Objective.REVENUE)
    max_change_pct = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Largest price change one recommendation may make, in percent",
    )
    min_enrollments_for_advice = models.PositiveIntegerField(
        default=20, help_text="Below this many enrollments to date the model is too unsure to advise a change"
    )
    competitive_active = models.BooleanField(default=False)
    competitive_weight = models.FloatField(
        default=0.3, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    lifecycle_active = models.BooleanField(default=False)
    lifecycle_weight = models.FloatField(default=0.5, validators=[MinValueValidator(0), MaxValueValidator(1)])
    time_based_active = models.BooleanField(default=False)
    time_based_weight = models.FloatField(
        default=0.5, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    bundles_active = models.BooleanField(default=True)
    cooldown_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MaxValueValidator(365)],
        help_text="After a course's price changes, advice keeps that price for this many days, so the "
        "change's effect can be measured before the next step",
    )
    dismissal_tolerance_pct = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=5,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text="Dismissed advice stays dismissed while the model version and the course's price are "
        "the same and new advice is within this many percent of the dismissed price",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "pricing settings"
        verbose_name_plural = "pricing settings"

    def __str__(self) -> str:
        return "Pricing settings"


class PriceRecommendation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        DISMISSED = "dismissed", "Dismissed"
        SUPERSEDED = "superseded", "Superseded"

    class Confidence(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    course = models.ForeignKey(
        "tokenecon.Course", on_delete=models.CASCADE, related_name="price_recommendations"
    )
    model_version = models.PositiveIntegerField(help_text="Registry version of the demand model used")
    model_algorithm = models.CharField(max_length=64)
    objective = models.CharField(max_length=20, choices=PricingSettings.Objective)
    current_price_tokens = models.PositiveIntegerField()
    recommended_price_tokens = models.PositiveIntegerField()
    model_optimal_price_tokens = models.PositiveIntegerField(
        help_text="The model's optimum before strategies"
    )
    expected_enrollments_current = models.FloatField(help_text="Per 30 days")
    expected_enrollments_recommended = models.FloatField(help_text="Per 30 days")
    expected_revenue_current = models.FloatField(help_text="Gross tokens per 30 days")
    expected_revenue_recommended = models.FloatField(help_text="Gross tokens per 30 days")
    teacher_earnings_current = models.FloatField()
    teacher_earnings_recommended = models.FloatField()
    elasticity_current = models.FloatField()
    elasticity_recommended = models.FloatField()
    confidence = models.CharField(max_length=8, choices=Confidence)
    reason = models.TextField()
    details = models.JSONField(default=dict, help_text="Intervals, inputs and the strategy breakdown")
    status = models.CharField(max_length=12, choices=Status, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["course", "status"]), models.Index(fields=["status", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["course"],
                condition=Q(status="pending"),
                name="price_recommendation_one_pending_per_course",
            )
        ]

    def __str__(self) -> str:
        prices = f"{self.current_price_tokens} -> {self.recommended_price_tokens}"
        return f"{self.course_id}: {prices} ({self.status})"

    @property
    def price_change_pct(self) -> float:
        return (self.recommended_price_tokens / self.current_price_tokens - 1) * 100

    @property
    def earnings_change(self) -> float:
        return self.teacher_earnings_recommended - self.teacher_earnings_current

    @property
    def changes_price(self) -> bool:
        return self.recommended_price_tokens != self.current_price_tokens


class AdviceRun(models.Model):
    """One recompute of the stored price advice, with the progress its page polls."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=12, choices=Status, default=Status.QUEUED)
    course_ids = models.JSONField(
        null=True, blank=True, help_text="The courses to advise on; empty: the whole catalog"
    )
    progress_pct = models.PositiveSmallIntegerField(default=0)
    courses_done = models.PositiveIntegerField(default=0)
    courses_total = models.PositiveIntegerField(default=0)
    recommendations_stored = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the nightly run",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Advice run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class PriceNotice(models.Model):
    """An in-app notice to a teacher: staff changed the price of one of their courses (advice
    applied, one by one or in bulk). Shown on the teacher's home until marked as read."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="price_notices")
    course = models.ForeignKey("tokenecon.Course", on_delete=models.CASCADE, related_name="+")
    price_change = models.ForeignKey(
        "tokenecon.PriceChange", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.text
