"""The workspace's money slot: judge a delivered-but-missing claim from the case, goodwill credits panel."""

import pytest
from django.urls import reverse

from cases.models import Case, DeliveryDispute
from cases.tests.factories import CaseFactory
from customers.tests.factories import OrderItemFactory

pytestmark = pytest.mark.django_db


def test_associate_sends_a_delivered_but_missing_claim_to_the_evidence_check(
    client, agent, department, django_capture_on_commit_callbacks
):
    item = OrderItemFactory(title="Noise-cancelling headphones")
    case = CaseFactory(
        department=department,
        customer=item.order.customer,
        order=item.order,
        order_item=item,
        status=Case.Status.ASSIGNED,
        assignee=agent,
        intent="missing_delivered",
    )
    client.force_login(agent)
    page = client.get(reverse("cases:workspace", kwargs={"reference": case.reference})).content.decode()
    assert "Check delivery evidence" in page and reverse("cases:case_credits", args=[case.pk]) in page

    url = reverse("cases:case_action", kwargs={"reference": case.reference, "action": "delivery_check"})
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(url)
        client.post(url)  # a double click opens one dispute
    dispute = DeliveryDispute.objects.get()
    assert (dispute.order_item, dispute.case) == (item, case)
    assert len(callbacks) == 1  # the evidence is judged by a worker (delivery_dispute_decide)


def test_case_without_an_order_item_gets_a_message_and_no_dispute(client, agent, department):
    case = CaseFactory(department=department, status=Case.Status.ASSIGNED, assignee=agent)
    client.force_login(agent)
    url = reverse("cases:case_action", kwargs={"reference": case.reference, "action": "delivery_check"})
    response = client.post(url, follow=True)
    assert "not about an order item" in response.content.decode()
    assert not DeliveryDispute.objects.exists()
