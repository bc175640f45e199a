import socket

from celery import shared_task
from celery.signals import task_postrun
from django.db.models import F
from django.utils import timezone

from cases.models import Heartbeat
from cases.payments import TransientPaymentError
from cases.services import refunds, sla
from cases.services.refunds import MAX_ISSUE_ATTEMPTS, disputes, subscriptions, supervision


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
    """Check and issue one refund. Retried with backoff only on transient adapter errors; the service bounds the
    attempts and records FAILED with the reason on the last one."""
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


@shared_task(acks_late=True, ignore_result=True)
def delivery_dispute_decide(dispute_id: int) -> None:
    """Judge a delivered-but-missing claim on its evidence (no-op when already decided)."""
    disputes.delivery_dispute_decide(dispute_id=dispute_id)


@shared_task(acks_late=True, ignore_result=True)
def subscription_charges_reconcile() -> int:
    """Beat: refund every subscription charge made after its cancellation. Stops between batches before the
    soft time limit (the next beat carries on), so a large backlog is never cut mid-batch by the limit."""
    import time

    from django.conf import settings

    budget = max(10, settings.CELERY_TASK_SOFT_TIME_LIMIT - 40)
    return subscriptions.subscription_charges_reconcile(until=time.monotonic() + budget)


@shared_task(acks_late=True, ignore_result=True)
def refunds_requeue_stuck() -> int:
    """Beat: re-enqueue refunds whose task was lost (stalled past REFUND_STUCK_MINUTES)."""
    return supervision.refunds_requeue_stuck()


@shared_task(acks_late=True, ignore_result=True)
def audit_seal() -> None:
    """Beat, every 5 s: seal committed audit entries into the hash chain (the one sequencer; see services.audit)."""
    from cases.services.audit import audit_seal as seal

    seal(wait=True)


@shared_task(acks_late=True, ignore_result=True)
def noop(n: int = 0) -> int:
    """Does nothing: the baseline of the refund benchmark (bench/refunds.py) on the same broker and settings."""
    return n


@shared_task(acks_late=True, ignore_result=True)
def sla_sweep() -> None:
    """Beat, every few seconds: record due SLA warnings/breaches once and act (see cases.services.sla)."""
    sla.sla_sweep()


@shared_task(acks_late=True, ignore_result=True)
def agent_presence_sweep() -> int:
    """Beat, every 30 s: "available" associates with no page of the portal open go away (cases.services.queue)."""
    from cases.services.queue import agent_presence_sweep as sweep

    return sweep()


@task_postrun.connect
def _seal_audit_after_task(**_kwargs) -> None:
    """The worker's share of the audit chain's sealing (throttled, non-blocking; see services.audit)."""
    from cases.services.audit import audit_seal_if_due

    try:
        audit_seal_if_due()
    except Exception:  # sealing is retried by the next task and by beat; never fail a task here
        import logging

        logging.getLogger(__name__).exception("audit seal after task failed")
