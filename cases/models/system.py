from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """Written by the ``cases.tasks.heartbeat`` Celery task: proof that a real worker runs tasks."""

    name = models.CharField(max_length=40, primary_key=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    beats = models.PositiveBigIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen_at:%H:%M:%S}"
