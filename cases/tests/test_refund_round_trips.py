"""Round trips of one refund (pinned): the audit chain no longer costs a lock and two extra statements per entry,
and the claim writes its two steps with one UPDATE and one audit INSERT."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import AuditLog, Refund
from cases.services.audit import audit_verify
from cases.services.refunds import refund_process, refund_request
from customers.tests.factories import SubscriptionChargeFactory


@pytest.mark.django_db
def test_one_subscription_refund_requested_and_processed_in_few_round_trips(django_assert_num_queries):
    charge = SubscriptionChargeFactory(amount=Decimal("14.99"))
    customer = charge.subscription.customer
    # Was 12: existing-key read, savepoint, INSERT refund, audit (lock head, INSERT entry, UPDATE head), release …
    with django_assert_num_queries(5):  # key read, SAVEPOINT, INSERT refund, INSERT audit entry, RELEASE
        refund = refund_request(
            idempotency_key=f"subscription-charge:{charge.pk}",
            customer=customer,
            amount=charge.amount,
            reason="after cancellation",
            source=Refund.Source.SUBSCRIPTION_SWEEP,
            subscription_charge=charge,
        )
    # Was 25 (19 statements). Now: claim = lock row, one UPDATE (checking → approved, attempt 1), one INSERT of
    # both audit entries; call = the sandbox's INSERT; record = lock row (+ customer, case), UPDATE issued, INSERT audit, INSERT
    # notification. 8 statements in 3 transactions (each shown here as SAVEPOINT … RELEASE: +6).
    with CaptureQueriesContext(connection) as processed:
        refund_process(refund_id=refund.pk)
    statements = [q["sql"] for q in processed if "SAVEPOINT" not in q["sql"]]
    assert len(processed) == 14 and len(statements) == 8, [q[:70] for q in statements]
    assert not any("cases_auditchainhead" in sql for sql in statements)  # no money transaction touches the chain
    refund.refresh_from_db()
    assert refund.status == Refund.Status.ISSUED
    assert list(AuditLog.objects.filter(object_id=str(refund.pk)).values_list("action", flat=True).order_by("id")) == [
        "refund.requested", "refund.checking", "refund.approved", "refund.issued"
    ]  # fmt: skip
    assert audit_verify() == (4, None)
