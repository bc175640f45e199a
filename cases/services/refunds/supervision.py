"""What a supervisor sees and can do about refunds that died (FAILED) or stalled.

- ``refunds_requeue_stuck``: beat sweep. A refund still REQUESTED / APPROVED ``REFUND_STUCK_MINUTES`` after its last
  change lost its task (broker outage, a worker lost past the retry budget): enqueue ``refund_process`` again.
  Safe: processing is idempotent and the adapter deduplicates on the key.
- ``refund_retry``: a supervisor retries a FAILED refund. The ledger row stays FAILED (history is not rewritten);
  a new refund with a new key (``retry-of:<failed id>``) goes through the whole check → issue path again.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cases.errors import Conflict, NotAllowed
from cases.models import CaseEvent, Refund, Role
from cases.selectors import agent_profile_of
from cases.services.audit import audit_record
from cases.services.cases import case_event_record

from .ledger import refund_request

STALLABLE = (Refund.Status.REQUESTED, Refund.Status.CHECKING, Refund.Status.APPROVED)


def _stuck_before(now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(minutes=settings.RH.get("REFUND_STUCK_MINUTES", 15))


def refunds_needing_attention(*, now: datetime | None = None) -> QuerySet[Refund]:
    """FAILED refunds not yet retried, and refunds stalled in a non-final state."""
    return (
        Refund.objects.filter(
            Q(status=Refund.Status.FAILED, retried_by__isnull=True)
            | Q(status__in=STALLABLE, updated_at__lt=_stuck_before(now))
        )
        .select_related("customer", "case", "order_item", "subscription_charge")
        .order_by("-updated_at")
    )


def refunds_requeue_stuck(*, now: datetime | None = None, limit: int = 1000) -> int:
    from cases.tasks import refund_process

    with transaction.atomic():
        ids = list(
            Refund.objects.filter(status__in=STALLABLE, updated_at__lt=_stuck_before(now))
            .order_by("updated_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        # Touch them so the next sweep does not enqueue them again before the worker had its chance.
        Refund.objects.filter(pk__in=ids).update(updated_at=timezone.now())
        for pk in ids:
            refund_process.delay_on_commit(pk)
    return len(ids)


@transaction.atomic
def refund_retry(*, refund_id: int, actor) -> Refund:
    profile = agent_profile_of(actor)
    if profile is None or profile.role != Role.SUPERVISOR:
        raise NotAllowed("Only a supervisor can retry a failed refund.")
    failed = Refund.objects.select_for_update().get(pk=refund_id)
    if failed.status != Refund.Status.FAILED:
        raise Conflict("Only a failed refund can be retried.", code="not_failed")
    retry = refund_request(
        idempotency_key=f"retry-of:{failed.pk}",
        customer=failed.customer,
        amount=failed.amount,
        reason=failed.reason,
        source=failed.source,
        order_item=failed.order_item,
        subscription_charge=failed.subscription_charge,
        case=failed.case,
        actor=actor,
    )
    if failed.retried_by_id is None:
        failed.retried_by = retry
        failed.save(update_fields=["retried_by", "updated_at"])
        audit_record(action="refund.retried", obj=failed, actor=actor, data={"retry_refund_id": retry.pk})
        if failed.case_id:
            case_event_record(
                case=failed.case,
                type=CaseEvent.Type.REFUND,
                actor=actor,
                old=Refund.Status.FAILED,
                new="retried",
                data={"refund_id": failed.pk, "retry_refund_id": retry.pk},
            )
    return retry
