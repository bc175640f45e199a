"""The dead state a supervisor sees: failed and stalled refunds at /agent/refunds/, retry, and the stuck sweep."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.errors import Conflict, NotAllowed
from cases.models import Refund
from cases.services.refunds import refund_process
from cases.services.refunds.supervision import refund_retry, refunds_requeue_stuck
from customers.tests.factories import OrderItemFactory

URL = "/agent/refunds/"


def _refund(status="failed", key=None, minutes_ago=0, last_error="sandbox: simulated decline"):
    item = OrderItemFactory()
    refund = Refund.objects.create(
        idempotency_key=key or f"k-{item.pk}", customer=item.order.customer, order_item=item, amount=Decimal("9.50"),
        source="agent", reason="damaged", status=status, last_error=last_error if status == "failed" else "",
    )  # fmt: skip
    Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes_ago))
    return refund


@pytest.mark.django_db
def test_supervisor_sees_failed_with_reason_and_stalled_refunds(client, supervisor, django_assert_num_queries):
    failed = _refund()
    stalled = _refund(status="approved", minutes_ago=16)
    _refund(status="approved", minutes_ago=1)  # still in flight: not shown
    _refund(status="issued", minutes_ago=60)
    client.force_login(supervisor)
    with django_assert_num_queries(3):  # session, user with agent profile, refunds (one query, joins)
        response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"#{failed.pk}" in html and "sandbox: simulated decline" in html
    assert f"#{stalled.pk}" in html
    assert html.count("<tr>") == 1 + 2


@pytest.mark.django_db
def test_query_count_does_not_grow_with_rows(client, supervisor, django_assert_num_queries):
    for _ in range(15):
        _refund()
    client.force_login(supervisor)
    with django_assert_num_queries(3):
        response = client.get(URL, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "<html" not in response.content.decode()


@pytest.mark.django_db
def test_associates_and_customers_are_refused(client, agent, customer):
    client.force_login(agent)
    assert client.get(URL).status_code == 403
    client.force_login(customer.user)
    assert client.get(URL).status_code == 403


@pytest.mark.django_db
def test_retry_creates_a_new_refund_with_a_new_key_and_keeps_the_failed_one(client, supervisor):
    failed = _refund()
    client.force_login(supervisor)
    response = client.post(f"/agent/refunds/{failed.pk}/retry/")
    assert response.status_code == 302
    failed.refresh_from_db()
    retry = failed.retried_by
    assert failed.status == "failed" and retry.idempotency_key == f"retry-of:{failed.pk}"
    assert retry.order_item_id == failed.order_item_id and retry.amount == failed.amount
    # a double click is a no-op; the retried refund leaves the attention list
    client.post(f"/agent/refunds/{failed.pk}/retry/")
    assert Refund.objects.count() == 2
    refund_process(refund_id=retry.pk)
    assert f"#{failed.pk}<" not in client.get(URL).content.decode()


@pytest.mark.django_db
def test_only_supervisors_retry_and_only_failed_refunds(agent, supervisor):
    with pytest.raises(NotAllowed):
        refund_retry(refund_id=_refund().pk, actor=agent)
    with pytest.raises(Conflict):
        refund_retry(refund_id=_refund(status="issued").pk, actor=supervisor)


@pytest.mark.django_db
def test_stuck_sweep_re_enqueues_stalled_refunds_once(django_capture_on_commit_callbacks):
    stalled = _refund(status="requested", minutes_ago=30)
    _refund(status="approved", minutes_ago=2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert refunds_requeue_stuck() == 1
        assert refunds_requeue_stuck() == 0  # touched: not again before the worker had its chance
    assert len(callbacks) == 1
    refund_process(refund_id=stalled.pk)
    stalled.refresh_from_db()
    assert stalled.status == "issued"
