from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    DROPPED = "dropped", "Dropped"
    REFUNDED = "refunded", "Refunded"


class Enrollment(models.Model):
    learner = models.ForeignKey("tokenecon.Learner", on_delete=models.PROTECT, related_name="enrollments")
    course = models.ForeignKey("tokenecon.Course", on_delete=models.PROTECT, related_name="enrollments")
    external_id = models.CharField(
        max_length=32,
        unique=True,
        null=True,
        blank=True,
        help_text="Key of an imported enrollment (CSV enrollment_id), so re-imports update it",
    )
    enrolled_at = models.DateTimeField(db_index=True)
    list_price_tokens = models.PositiveIntegerField(help_text="Course price at the time of purchase")
    price_paid_tokens = models.PositiveIntegerField()
    discount_pct = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    status = models.CharField(max_length=16, choices=EnrollmentStatus, default=EnrollmentStatus.ACTIVE)
    progress_pct = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    coupon = models.ForeignKey(
        "tokenecon.Coupon",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrollments",
        help_text="The coupon redeemed at purchase, if any",
    )
    purchase_key = models.CharField(
        max_length=128,
        unique=True,
        null=True,
        blank=True,
        help_text="Idempotency key of a purchase that moved no tokens (a free coupon); a paid purchase's "
        "key is its transfer's",
    )
    released_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the teacher's share moved from pending to available (after the refund window)",
    )
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )

    class Meta:
        ordering = ["-enrolled_at"]
        indexes = [
            models.Index(fields=["course", "enrolled_at"]),
            models.Index(fields=["learner", "enrolled_at"]),
            models.Index(fields=["status"]),
            models.Index(fields=["released_at", "enrolled_at"]),
        ]
        constraints = [
            # A refunded enrollment frees the seat, so the learner may buy the course again.
            models.UniqueConstraint(
                fields=["learner", "course"],
                condition=~Q(status="refunded"),
                name="enrollment_one_live_per_learner_course",
            ),
            models.CheckConstraint(
                condition=Q(price_paid_tokens__lte=models.F("list_price_tokens")),
                name="enrollment_paid_not_above_list",
            ),
            models.CheckConstraint(
                # 100 is a free enrollment through a 100% coupon (no tokens move).
                condition=Q(discount_pct__gte=0, discount_pct__lte=100),
                name="enrollment_discount_0_100",
            ),
            models.CheckConstraint(condition=Q(progress_pct__lte=100), name="enrollment_progress_0_100"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="enrollment_rating_1_5",
            ),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | Q(completed_at__gte=models.F("enrolled_at")),
                name="enrollment_completed_after_enrolled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id} in {self.course_id} ({self.status})"


class LearnerActivity(models.Model):
    """One learner's learning activity on one day (lessons, minutes, forum, assignments)."""

    learner = models.ForeignKey("tokenecon.Learner", on_delete=models.CASCADE, related_name="activity")
    day = models.DateField()
    course = models.ForeignKey(
        "tokenecon.Course", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lessons_completed = models.PositiveSmallIntegerField(default=0)
    minutes = models.PositiveIntegerField(default=0)
    forum_posts = models.PositiveSmallIntegerField(default=0)
    assignments_submitted = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name_plural = "learner activity"
        ordering = ["learner", "day"]
        indexes = [models.Index(fields=["day"])]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "day", "course"], name="activity_one_row_per_learner_day_course"
            )
        ]
