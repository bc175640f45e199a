import socket

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from cases.models import Heartbeat
from cases.payments import TransientPaymentError
from cases.services import refunds
from cases.services.refunds import MAX_ISSUE_ATTEMPTS


@shared_task(acks_late=True, ignore_result=True)
def heartbeat(name: str = "worker") -> None:
    """Proof of life from a real Celery worker, shown in the portal footer and /healthz."""
    beat, _created = Heartbeat.objects.get_or_create(name=name)
    Heartbeat.objects.filter(pk=beat.pk).update(
        last_seen_at=timezone.now(), beats=F("beats") + 1, worker=socket.gethostname()
    )


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(TransientPaymentError,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=MAX_ISSUE_ATTEMPTS,
)
def refund_process(self, refund_id: int) -> None:
    refunds.refund_process(refund_id=refund_id)


@shared_task(acks_late=True, ignore_result=True)
def callbacks_dispatch() -> None:
    """Beat, every few seconds: offer due Call Me Now requests to available associates (skip_locked sweep)."""
    from cases.services.callbacks import callback_offer_due

    callback_offer_due()


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=5)
def notification_email(notification_id: int) -> None:
    """E-mail copy of a Message Center entry; sent at most once (``emailed_at``)."""
    from cases.services.customer import notification_email_copy

    notification_email_copy(notification_id=notification_id)
