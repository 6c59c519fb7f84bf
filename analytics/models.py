"""The model registry and pipeline runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class PipelineRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    STAGES = ("data", "understanding", "preparation", "training", "evaluation", "report")

    kind = models.CharField(max_length=32, help_text="Which pipeline, e.g. demand")
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    params = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text="Hash of the data window and parameters, for idempotent training"
    )
    stages = models.JSONField(
        default=list, blank=True, help_text="Per stage: status, timings, progress, message"
    )
    current_stage = models.CharField(max_length=32, blank=True)
    progress_pct = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    report = models.JSONField(default=dict, blank=True)
    report_html = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "status"]), models.Index(fields=["fingerprint"])]
        constraints = [
            # One run per kind at a time: two starts at the same moment cannot both pass.
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status__in=["pending", "running"]),
                name="pipeline_run_one_active_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def failure_summary(self) -> str:
        """The line of ``error`` that says why (a traceback's last line), for lists of runs."""
        lines = [line for line in self.error.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ModelVersion(models.Model):
    class Stage(models.TextChoices):
        STAGING = "staging", "Staging"
        PRODUCTION = "production", "Production"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=64, help_text="Model name, e.g. demand or propensity_churn")
    version = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    features = models.JSONField(default=list, blank=True)
    data_start = models.DateField(null=True, blank=True)
    data_end = models.DateField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500, help_text="Relative to the artifacts directory")
    run = models.ForeignKey(
        PipelineRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="versions"
    )
    stage = models.CharField(max_length=16, choices=Stage, default=Stage.STAGING)
    selected = models.BooleanField(default=False, help_text="Chosen by the run's selection rule")
    promotion_note = models.TextField(
        blank=True,
        help_text="Why the selection rule's choice was not promoted (the promotion guards that refused it)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="model_version_unique_per_name"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(stage="production"), name="model_version_one_production_per_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.algorithm}, {self.stage})"


class DataQualitySnapshot(models.Model):
    """One stored run of the data-quality checks (analytics/services/quality_cache.py): the page
    shows the latest instead of re-running every check on each visit."""

    checked_at = models.DateTimeField(db_index=True)
    fingerprint = models.CharField(max_length=64, help_text="The checked data's fingerprint")
    elapsed_s = models.FloatField()
    score = models.FloatField()
    report = models.JSONField(help_text="QualityReport.as_dict()")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-checked_at", "-pk"]

    def __str__(self) -> str:
        return f"data quality {self.score} at {self.checked_at:%Y-%m-%d %H:%M:%S}"
