from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Teacher(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="teacher")
    external_id = models.CharField(max_length=32, unique=True, help_text="Public code, e.g. T00001")
    display_name = models.CharField(max_length=120)
    bio = models.TextField(blank=True)
    quality_score = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    years_experience = models.PositiveSmallIntegerField(default=0)
    joined_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quality_score__gte=0, quality_score__lte=100),
                name="teacher_quality_score_0_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.external_id})"


class Learner(models.Model):
    class AgeGroup(models.TextChoices):
        UNDER_18 = "under_18", "Under 18"
        AGE_18_24 = "18_24", "18-24"
        AGE_25_34 = "25_34", "25-34"
        AGE_35_44 = "35_44", "35-44"
        AGE_45_PLUS = "45_plus", "45+"

    class Education(models.TextChoices):
        SECONDARY = "secondary", "Secondary"
        BACHELOR = "bachelor", "Bachelor"
        MASTER = "master", "Master"
        DOCTORATE = "doctorate", "Doctorate"
        OTHER = "other", "Other"

    class Channel(models.TextChoices):
        ORGANIC = "organic", "Organic search"
        REFERRAL = "referral", "Referral"
        PAID = "paid", "Paid ads"
        SOCIAL = "social", "Social"
        PARTNER = "partner", "Partner"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="learner")
    external_id = models.CharField(max_length=32, unique=True, help_text="Public code, e.g. L00001")
    joined_on = models.DateField()
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    age_group = models.CharField(max_length=10, choices=AgeGroup, blank=True)
    education = models.CharField(max_length=10, choices=Education, blank=True)
    acquisition_channel = models.CharField(max_length=10, choices=Channel, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["external_id"]
        indexes = [models.Index(fields=["joined_on"]), models.Index(fields=["country"])]

    def __str__(self) -> str:
        return self.external_id
