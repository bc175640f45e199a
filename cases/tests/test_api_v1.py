"""Staff REST API: cases (gate, filters, pagination), reply, take-next, customer lookups, idempotent money."""

from decimal import Decimal

import pytest
from django.urls import reverse

from cases.models import GoodwillCredit, IdempotencyRecord, Refund
from cases.services.api_keys import api_key_create
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory
from customers.tests.factories import CustomerFactory, OrderItemFactory, ShipmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(api_client, agent):
    api_client.force_login(agent)
    return api_client


@pytest.fixture
def other_department():
    return DepartmentFactory(slug="pharmacy", name="Pharmacy")


def test_list_shows_only_my_departments_cases_with_filters_and_pagination(
    staff, department, other_department, django_assert_num_queries
):
    mine = [CaseFactory(department=department) for _ in range(12)]
    CaseFactory(department=other_department)
    CaseFactory(department=department, channel="social")
    with django_assert_num_queries(4):  # session, user with profile, count, page (departments: a subquery)
        page = staff.get(reverse("api-cases"), {"limit": 10})
    assert page.status_code == 200
    body = page.json()
    assert body["count"] == 13 and len(body["results"]) == 10 and body["next"]
    assert {c["department"] for c in body["results"]} == {"general"}
    social = staff.get(reverse("api-cases"), {"channel": "social"}).json()
    assert social["count"] == 1
    assert staff.get(reverse("api-cases"), {"status": "new", "assignee": "none"}).json()["count"] == 13
    assert staff.get(reverse("api-cases"), {"priority": "x"}).status_code == 400
    assert mine  # created


def test_detail_goes_through_the_agent_gate(staff, department, other_department):
    mine = CaseFactory(department=department)
    theirs = CaseFactory(department=other_department)
    assert staff.get(reverse("api-case", args=[mine.pk])).json()["reference"] == mine.reference
    assert staff.get(reverse("api-case", args=[theirs.pk])).status_code == 404


def test_customers_and_api_keys_are_refused(api_client, customer, department):
    case = CaseFactory(department=department, customer=customer)
    api_client.force_login(customer.user)
    assert api_client.get(reverse("api-case", args=[case.pk])).status_code == 403
    api_client.logout()
    _, raw = api_key_create(name="bot", scopes=["cases:read", "cases:write", "refunds"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.get(reverse("api-cases")).status_code == 403
    assert api_client.post(reverse("api-case-take-next"), {}, format="json").status_code == 403


def test_take_next_then_reply(staff, agent, department):
    case = CaseFactory(department=department)
    # replying before holding the case is refused by the service
    refused = staff.post(reverse("api-case-reply", args=[case.pk]), {"body": "Hello"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_assignee"
    taken = staff.post(reverse("api-case-take-next"), {}, format="json")
    assert taken.status_code == 200 and taken.json()["id"] == case.pk and taken.json()["assignee"] == agent.username
    reply = staff.post(reverse("api-case-reply", args=[case.pk]), {"body": "On it."}, format="json")
    assert reply.status_code == 201 and reply.json()["kind"] == "agent"
    assert staff.post(reverse("api-case-take-next"), {}, format="json").status_code == 409  # nothing waits
    assert staff.post(reverse("api-case-reply", args=[case.pk]), {"body": ""}, format="json").status_code == 400


def test_orders_and_shipments_only_for_customers_with_a_visible_case(staff, department, other_department):
    customer = CustomerFactory()
    CaseFactory(department=department, customer=customer)
    item = OrderItemFactory(order__customer=customer)
    ShipmentFactory(order=item.order)
    stranger = CustomerFactory()
    CaseFactory(department=other_department, customer=stranger)
    orders = staff.get(reverse("api-customer-orders", args=[customer.pk]))
    assert orders.status_code == 200 and orders.json()[0]["items"][0]["id"] == item.pk
    assert len(staff.get(reverse("api-customer-shipments", args=[customer.pk])).json()) == 1
    assert staff.get(reverse("api-customer-orders", args=[stranger.pk])).status_code == 404
    assert staff.get(reverse("api-customer-shipments", args=[stranger.pk])).status_code == 404


def _refund(client, case, item, key, amount="10.00"):
    return client.post(
        reverse("api-case-refunds", args=[case.pk]),
        {"order_item_id": item.pk, "amount": amount, "reason": "Arrived broken"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_refund_with_the_same_key_replays_and_other_parameters_are_refused(staff, department):
    customer = CustomerFactory()
    case = CaseFactory(department=department, customer=customer)
    item = OrderItemFactory(order__customer=customer, unit_price=Decimal("25.00"))
    first = _refund(staff, case, item, "k-1")
    assert first.status_code == 201
    again = _refund(staff, case, item, "k-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Refund.objects.count() == 1
    reused = _refund(staff, case, item, "k-1", amount="11.00")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    missing = staff.post(
        reverse("api-case-refunds", args=[case.pk]),
        {"order_item_id": item.pk, "amount": "1.00", "reason": "x"},
        format="json",
    )
    assert missing.status_code == 400
    stranger_item = OrderItemFactory()
    bad = _refund(staff, case, stranger_item, "k-2")
    assert bad.status_code == 400 and "order_item_id" in bad.json()["errors"]
    assert not IdempotencyRecord.objects.filter(key="k-2").exists()  # a refused call frees its key


def test_credit_with_the_same_key_is_granted_once(staff, department):
    case = CaseFactory(department=department)
    body = {"amount": "5.00", "reason_code": "late_delivery", "note": "Sorry for the wait"}
    url = reverse("api-case-credits", args=[case.pk])
    first = staff.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    assert first.status_code == 201, first.json()
    second = staff.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    assert second.json() == first.json()
    assert GoodwillCredit.objects.count() == 1
    other = staff.post(url, {**body, "amount": "6.00"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    assert other.status_code == 422


def test_the_same_key_from_two_people_are_two_operations(api_client, department):
    case = CaseFactory(department=department)
    body = {"amount": "5.00", "reason_code": "loyalty", "note": "Thanks"}
    url = reverse("api-case-credits", args=[case.pk])
    for username in ("ann", "ben"):
        user = AgentFactory(user__username=username, departments=[department]).user
        api_client.force_login(user)
        assert api_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert GoodwillCredit.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_calls_with_one_key_run_the_operation_once(department):
    import threading

    from django.db import connection

    from cases.services.idempotency import IdempotencyInFlight, idempotency_begin, idempotency_finish

    outcomes, barrier = [], threading.Barrier(4)

    def call():
        try:
            barrier.wait()
            claim = idempotency_begin(principal="user:1", key="same", fingerprint="f")
            if not claim.is_replay:
                idempotency_finish(record_id=claim.record_id, status=201, body={"ok": True})
            outcomes.append("replay" if claim.is_replay else "ran")
        except IdempotencyInFlight:
            outcomes.append("in_flight")
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ran") == 1
    assert set(outcomes) <= {"ran", "in_flight", "replay"}
    assert IdempotencyRecord.objects.filter(key="same").count() == 1


def test_transitions_follow_the_map_and_are_on_the_timeline(staff, agent, department):
    from cases.models import Case, CaseEvent

    case = CaseFactory(department=department)
    url = reverse("api-case-transition", args=[case.pk])
    # not held yet: the service refuses, nothing changes
    assert staff.post(url, {"to": "waiting_customer"}, format="json").status_code == 403
    staff.post(reverse("api-case-take-next"), {}, format="json")

    waiting = staff.post(url, {"to": "waiting_customer"}, format="json")
    assert waiting.status_code == 200 and waiting.json()["status"] == "waiting_customer"
    no_reason = staff.post(url, {"to": "resolved"}, format="json")
    assert no_reason.status_code == 400 and "reason" in str(no_reason.json())
    resolved = staff.post(url, {"to": "resolved", "reason": "answered", "note": "tracking sent"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert staff.post(url, {"to": "waiting_customer"}, format="json").status_code == 409  # not in the map
    reopened = staff.post(url, {"to": "new"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "new"
    assert staff.post(url, {"to": "closed"}, format="json").status_code == 400  # not a choice here

    moves = list(
        case.events.filter(type=CaseEvent.Type.STATUS_CHANGED).order_by("id").values_list("old_value", "new_value")
    )
    assert moves[-3:] == [("assigned", "waiting_customer"), ("waiting_customer", "resolved"), ("resolved", "new")]
    assert Case.objects.get(pk=case.pk).status == "new"


def test_transfer_escalate_and_merge_work_like_the_workspace(staff, agent, department, other_department):
    from cases.models import Case, CaseEvent

    customer = CustomerFactory()
    case = CaseFactory(department=department, customer=customer)
    keep = CaseFactory(department=department, customer=customer)
    staff.post(reverse("api-case-take-next"), {}, format="json")  # alice holds the oldest: ``case``
    assert Case.objects.get(pk=case.pk).assignee_id == agent.pk

    # escalate to a supervisor: priority raised, alice keeps it, on the timeline
    escalate = reverse("api-case-escalate", args=[case.pk])
    assert staff.post(escalate, {"to": "nobody"}, format="json").status_code == 400
    up = staff.post(escalate, {"to": "supervisor", "note": "angry, third contact"}, format="json")
    assert up.status_code == 200 and up.json()["priority"] <= 2
    assert case.events.filter(type=CaseEvent.Type.ESCALATED).count() == 1

    # merge into a case alice cannot see answers like a case that does not exist; nothing changes
    hidden = CaseFactory(department=other_department, customer=customer)
    merge = reverse("api-case-merge", args=[case.pk])
    refused = staff.post(merge, {"into": hidden.reference}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"] == {"into": ["No such case."]}
    assert staff.post(merge, {"into": "CS-0000-000000"}, format="json").json() == refused.json() | {
        "detail": "No case CS-0000-000000."
    }
    assert Case.objects.get(pk=case.pk).status == "assigned"

    # transfer by slug: back in a queue of the other department, unassigned
    transfer = reverse("api-case-transfer", args=[case.pk])
    assert staff.post(transfer, {"department": "nowhere"}, format="json").status_code == 400
    moved = staff.post(transfer, {"department": "pharmacy", "note": "prescription question"}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "new"
    case.refresh_from_db()
    assert case.department_id == other_department.pk and case.assignee_id is None
    assert case.events.filter(type=CaseEvent.Type.TRANSFERRED, old_value="general", new_value="pharmacy").exists()
    # ... and now outside alice's departments: 404, like any case she cannot see
    assert staff.post(transfer, {"department": "general"}, format="json").status_code == 404

    # merge a duplicate she holds into the customer's other open case
    dup = CaseFactory(department=department, customer=customer)
    staff.post(reverse("api-case-take-next"), {}, format="json")  # takes ``keep`` (older)
    staff.post(reverse("api-case-take-next"), {}, format="json")  # then ``dup``
    merged = staff.post(reverse("api-case-merge", args=[dup.pk]), {"into": keep.reference.lower()}, format="json")
    assert merged.status_code == 200 and merged.json()["status"] == "merged"
    assert Case.objects.get(pk=dup.pk).merged_into_id == keep.pk


def test_only_supervisors_assign_and_only_to_someone_in_the_department(api_client, agent, supervisor, department):
    from cases.models import Case, CaseEvent

    case = CaseFactory(department=department)
    url = reverse("api-case-assign", args=[case.pk])
    api_client.force_login(agent)
    assert api_client.post(url, {"assignee": "alice"}, format="json").status_code == 403
    api_client.force_login(supervisor)
    assert api_client.post(url, {"assignee": "nobody"}, format="json").status_code == 400
    outsider = AgentFactory(user__username="oscar", departments=[DepartmentFactory(slug="ereader")]).user
    wrong = api_client.post(url, {"assignee": outsider.username}, format="json")
    assert wrong.status_code == 400 and "assignee" in wrong.json()["errors"]
    done = api_client.post(url, {"assignee": "alice"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "assigned"
    assert Case.objects.get(pk=case.pk).assignee_id == agent.pk
    assert case.events.filter(type=CaseEvent.Type.ASSIGNED, new_value="alice").exists()
    assert api_client.post(url, {"assignee": "alice"}, format="json").status_code == 409  # already hers
