from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of one Celery worker, written by the worker itself every
    ``HEALTH_HEARTBEAT_S`` seconds (tokenecon/services/health.py) and deleted when it stops
    cleanly. ``/health/`` reads these rows instead of pinging the workers."""

    hostname = models.CharField(max_length=255, unique=True)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return f"{self.hostname} (beat {self.beat_at:%Y-%m-%d %H:%M:%S})"
