import socket

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from cases.models import Heartbeat


@shared_task(acks_late=True, ignore_result=True)
def heartbeat(name: str = "worker") -> None:
    """Proof of life from a real Celery worker, shown in the portal footer and /healthz."""
    beat, _created = Heartbeat.objects.get_or_create(name=name)
    Heartbeat.objects.filter(pk=beat.pk).update(
        last_seen_at=timezone.now(), beats=F("beats") + 1, worker=socket.gethostname()
    )
