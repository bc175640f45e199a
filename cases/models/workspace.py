"""Who has a case open in the workspace right now (collision warning). Touched by the workspace poll."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .core import Case


class CaseViewer(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="viewers", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="case_viewer_unique")]
        indexes = [models.Index(fields=["case", "last_seen_at"], name="case_viewer_recent")]
