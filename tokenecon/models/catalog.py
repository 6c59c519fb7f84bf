from django.conf import settings
from django.db import models


class CourseCategory(models.TextChoices):
    PROGRAMMING = "programming", "Programming"
    DATA_SCIENCE = "data_science", "Data science"
    BUSINESS = "business", "Business"
    DESIGN = "design", "Design"
    MARKETING = "marketing", "Marketing"
    LANGUAGES = "languages", "Languages"
    PERSONAL_DEVELOPMENT = "personal_development", "Personal development"
    MUSIC = "music", "Music"
    HEALTH = "health", "Health & fitness"
    TEST_PREP = "test_prep", "Test preparation"


class Difficulty(models.TextChoices):
    BEGINNER = "beginner", "Beginner"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"


class Course(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    code = models.CharField(max_length=16, unique=True, help_text="Public code, e.g. C00001")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    teacher = models.ForeignKey("tokenecon.Teacher", on_delete=models.PROTECT, related_name="courses")
    category = models.CharField(max_length=32, choices=CourseCategory)
    difficulty = models.CharField(max_length=16, choices=Difficulty)
    duration_hours = models.DecimalField(max_digits=6, decimal_places=1)
    certificate_offered = models.BooleanField(default=False)
    launch_date = models.DateField()
    price_tokens = models.PositiveIntegerField(help_text="Current price in whole tokens")
    price_floor_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="The teacher's own lowest acceptable price"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PUBLISHED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        indexes = [
            models.Index(fields=["category", "status"]),
            models.Index(fields=["price_tokens"]),
            models.Index(fields=["launch_date"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price_tokens__gte=1), name="course_price_positive"),
            models.CheckConstraint(condition=models.Q(duration_hours__gt=0), name="course_duration_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class PriceChangeSource(models.TextChoices):
    INITIAL = "initial", "Initial price"
    MANUAL = "manual", "Manual"
    RECOMMENDATION = "recommendation", "Recommendation"
    EXPERIMENT = "experiment", "Experiment"
    PROMOTION = "promotion", "Promotion"


class PriceChange(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="price_changes")
    old_price_tokens = models.PositiveIntegerField(null=True, blank=True)
    new_price_tokens = models.PositiveIntegerField()
    effective_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=PriceChangeSource)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="approved_price_changes",
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "effective_at"]
        indexes = [models.Index(fields=["course", "effective_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(new_price_tokens__gte=1), name="price_change_new_price_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.course.code}: {self.old_price_tokens} -> {self.new_price_tokens}"
