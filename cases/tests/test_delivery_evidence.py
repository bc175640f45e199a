"""Delivered-but-missing disputes: every evidence rule, its boundaries, and what the customer / associate sees."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.errors import NotAllowed
from cases.models import Case, DeliveryDispute, Message, Notification, Refund
from cases.services.refunds import refund_process, refund_request
from cases.services.refunds.disputes import delivery_dispute_decide, delivery_dispute_open
from cases.services.refunds.evidence import (
    DeliveryEvidence,
    EvidenceRules,
    delivery_evidence_judge,
    haversine_m,
)
from cases.tests.factories import CaseFactory, DepartmentFactory
from customers.models import CarrierScan, Shipment
from customers.tests.factories import (
    AddressFactory,
    CarrierScanFactory,
    CustomerFactory,
    OrderFactory,
    OrderItemFactory,
    ShipmentFactory,
)

HOME = (Decimal("47.606200"), Decimal("-122.332100"))
RULES = EvidenceRules(high_value=Decimal("500.00"), gps_max_m=150.0, claim_max=2, claim_window=timedelta(days=365))


def _facts(**kw) -> DeliveryEvidence:
    base = {
        "item_value": Decimal("25.00"),
        "currency": "USD",
        "shipment_id": 1,
        "shipment_status": "delivered",
        "delivered_scan": True,
        "delivered_at": timezone.now(),
        "photo": True,
        "distance_m": 10.0,
        "prior_claims": 0,
    }
    base.update(kw)
    return DeliveryEvidence(**base)


# --- the rules, as pure functions ---------------------------------------------------------------------------


def test_haversine_matches_a_known_distance():
    # Given Seattle and Portland city centres, when measured, then ≈ 233.8 km apart (great circle).
    assert haversine_m(47.6062, -122.3321, 45.5152, -122.6784) == pytest.approx(233_800, rel=0.005)
    assert haversine_m(47.6062, -122.3321, 47.6062, -122.3321) == 0


@pytest.mark.parametrize(
    ("value", "decision"),
    [(Decimal("499.99"), "deny"), (Decimal("500.00"), "deny"), (Decimal("500.01"), "human")],
)
def test_high_value_line_is_over_500_not_at_500(value, decision):
    verdict = delivery_evidence_judge(_facts(item_value=value), rules=RULES)
    assert verdict.decision == decision
    assert ("high_value" in verdict.reasons) is (decision == "human")


def test_high_value_wins_over_evidence_that_would_refund():
    verdict = delivery_evidence_judge(_facts(item_value=Decimal("900"), distance_m=5000.0, photo=False), rules=RULES)
    assert verdict.decision == "human" and verdict.reasons == ["high_value"]


@pytest.mark.parametrize(("prior", "decision"), [(0, "refund"), (1, "refund"), (2, "human"), (5, "human")])
def test_claim_history_at_the_limit_goes_to_a_human(prior, decision):
    verdict = delivery_evidence_judge(_facts(prior_claims=prior, distance_m=900.0), rules=RULES)
    assert verdict.decision == decision
    if decision == "human":
        assert verdict.reasons == ["claim_history"] and f"{prior} earlier" in verdict.summary


def test_no_shipment_goes_to_a_human():
    verdict = delivery_evidence_judge(_facts(shipment_id=None, delivered_scan=False), rules=RULES)
    assert verdict.decision == "human" and verdict.reasons == ["no_shipment"]


def test_no_delivered_scan_yet_is_denied_with_a_readable_status():
    verdict = delivery_evidence_judge(_facts(delivered_scan=False, shipment_status="in_transit"), rules=RULES)
    assert verdict.decision == "deny" and verdict.reasons == ["not_delivered_yet"]
    assert "not been marked as delivered yet (latest status: In transit)" in verdict.customer_message


def test_shipment_the_carrier_lost_is_refunded():
    verdict = delivery_evidence_judge(_facts(delivered_scan=False, shipment_status="lost"), rules=RULES)
    assert verdict.decision == "refund" and verdict.reasons == ["carrier_lost"]


@pytest.mark.parametrize(
    ("photo", "decision", "reason"), [(True, "human", "no_gps"), (False, "refund", "no_proof_of_delivery")]
)
def test_delivered_scan_without_gps(photo, decision, reason):
    verdict = delivery_evidence_judge(_facts(distance_m=None, photo=photo), rules=RULES)
    assert verdict.decision == decision and verdict.reasons == [reason]


@pytest.mark.parametrize(
    ("distance", "photo", "decision", "reason"),
    [
        (150.0, True, "deny", "proof_of_delivery"),  # exactly at the threshold counts as at the address
        (150.01, True, "refund", "delivered_away_from_address"),
        (150.0, False, "human", "no_photo"),
        (150.01, False, "refund", "delivered_away_from_address"),
        (0.0, True, "deny", "proof_of_delivery"),
    ],
)
def test_gps_distance_threshold_boundaries(distance, photo, decision, reason):
    verdict = delivery_evidence_judge(_facts(distance_m=distance, photo=photo), rules=RULES)
    assert verdict.decision == decision and verdict.reasons == [reason]


def test_denial_reason_is_written_for_the_customer():
    verdict = delivery_evidence_judge(_facts(distance_m=20.0, photo=True), rules=RULES)
    assert "delivery photo and GPS location show your package was left at your address" in verdict.customer_message
    assert "ask for an associate" in verdict.customer_message


# --- the service and the task, on the database ---------------------------------------------------------------


def _delivered_item(*, price="25.00", scan_point=HOME, photo="photos/door.jpg", customer=None, kind="delivered"):
    customer = customer or CustomerFactory()
    address = AddressFactory(customer=customer, latitude=HOME[0], longitude=HOME[1])
    order = OrderFactory(customer=customer, shipping_address=address)
    item = OrderItemFactory(order=order, unit_price=Decimal(price))
    shipment = ShipmentFactory(order=order, status=Shipment.Status.DELIVERED)
    shipment.items.add(item)
    if kind:
        CarrierScanFactory(
            shipment=shipment,
            kind=kind,
            latitude=scan_point[0] if scan_point else None,
            longitude=scan_point[1] if scan_point else None,
            photo_ref=photo,
        )
    return item


def _open_and_decide(item, case=None, now=None):
    dispute = delivery_dispute_open(customer=item.order.customer, order_item=item, case=case)
    return delivery_dispute_decide(dispute_id=dispute.pk, now=now)


@pytest.mark.django_db
def test_open_enqueues_the_check_once_and_a_second_claim_returns_the_first(django_capture_on_commit_callbacks):
    item = _delivered_item()
    with django_capture_on_commit_callbacks() as callbacks:
        first = delivery_dispute_open(customer=item.order.customer, order_item=item)
        second = delivery_dispute_open(customer=item.order.customer, order_item=item)
    assert first.pk == second.pk and first.decision == "pending"
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_someone_elses_item_is_refused():
    item = _delivered_item()
    with pytest.raises(NotAllowed):
        delivery_dispute_open(customer=CustomerFactory(), order_item=item)
    assert not DeliveryDispute.objects.exists()


@pytest.mark.django_db
def test_proof_of_delivery_denies_and_tells_the_customer_why():
    item = _delivered_item()
    dispute = _open_and_decide(item)
    assert dispute.decision == "deny" and dispute.reasons == ["proof_of_delivery"]
    note = Notification.objects.get(customer=item.order.customer)
    assert "delivery photo and GPS location" in note.body
    assert not Refund.objects.exists()
    assert dispute.evidence["photo"] is True and dispute.evidence["distance_m"] == 0.0


@pytest.mark.django_db
def test_far_away_scan_refunds_automatically_through_the_ledger():
    item = _delivered_item(scan_point=(Decimal("47.616200"), Decimal("-122.332100")))  # ~1.1 km north
    dispute = _open_and_decide(item)
    assert dispute.decision == "refund" and dispute.reasons == ["delivered_away_from_address"]
    refund = dispute.refund
    assert refund.idempotency_key == f"delivery-dispute:{dispute.pk}" and refund.source == "delivery_check"
    refund_process(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.ISSUED and refund.amount == Decimal("25.00")


@pytest.mark.django_db
def test_deciding_twice_is_a_no_op():
    item = _delivered_item(scan_point=None, photo="")
    dispute = _open_and_decide(item)
    again = delivery_dispute_decide(dispute_id=dispute.pk)
    assert again.decision == "refund" and Refund.objects.count() == 1


@pytest.mark.django_db
def test_item_already_refunded_elsewhere_is_denied_not_refunded_twice():
    item = _delivered_item(scan_point=None, photo="")
    refund_request(
        idempotency_key="agent-1", customer=item.order.customer, amount=item.line_total, reason="x",
        source="agent", order_item=item,
    )  # fmt: skip
    dispute = _open_and_decide(item)
    assert dispute.decision == "deny" and "already_refunded" in dispute.reasons
    assert Refund.objects.count() == 1


@pytest.mark.django_db
def test_high_value_is_routed_to_a_case_with_the_evidence(department):
    item = _delivered_item(price="500.01")
    dispute = _open_and_decide(item)
    assert dispute.decision == "human"
    case = Case.objects.get(pk=dispute.case_id)
    assert case.department == department and case.intent == "missing_delivered" and case.order_item == item
    assert case.triage["delivery_evidence"]["item_value"] == "500.01"
    assert case.escalation_reasons[0]["rules"] == ["high_value"]
    note = Message.objects.get(case=case, kind=Message.Kind.NOTE)
    assert "High-value item" in note.body and "Delivery photo: yes" in note.body
    assert Notification.objects.filter(customer=item.order.customer, kind="case").exists()


@pytest.mark.django_db
def test_item_department_hint_picks_the_specialised_queue(department):
    pharmacy = DepartmentFactory(slug="pharmacy")
    item = _delivered_item(price="700")
    item.department_hint = "pharmacy"
    item.save()
    dispute = _open_and_decide(item)
    assert dispute.case.department == pharmacy


@pytest.mark.django_db
def test_existing_case_gets_the_evidence_instead_of_a_new_case():
    item = _delivered_item(photo="")  # at the address, no photo → human
    case = CaseFactory(customer=item.order.customer)
    dispute = _open_and_decide(item, case=case)
    assert dispute.decision == "human" and dispute.case_id == case.pk and Case.objects.count() == 1
    case.refresh_from_db()
    assert case.triage["delivery_evidence"]["photo"] is False
    assert case.events.filter(new_value="dispute_human").exists()


@pytest.mark.django_db
def test_claim_history_counts_earlier_refunds_inside_the_window_only(department):
    customer = CustomerFactory()
    now = timezone.now()
    for days_ago in (10, 364):
        old = _delivered_item(customer=customer, scan_point=None, photo="")
        Refund.objects.create(
            idempotency_key=f"old-{days_ago}", customer=customer, order_item=old, amount=Decimal("5"),
            source="delivery_check", reason="x", status="issued", created_at=now - timedelta(days=days_ago),
        )  # fmt: skip
    item = _delivered_item(customer=customer, scan_point=None, photo="")
    dispute = _open_and_decide(item, now=now)
    assert dispute.decision == "human" and dispute.reasons == ["claim_history"]

    # Given one of the two earlier refunds just outside the 365-day window, then the claim is refunded.
    Refund.objects.filter(idempotency_key="old-364").update(created_at=now - timedelta(days=365, seconds=1))
    item2 = _delivered_item(customer=customer, scan_point=None, photo="")
    assert _open_and_decide(item2, now=now).decision == "refund"


@pytest.mark.django_db
def test_gps_threshold_is_configurable(settings):
    item = _delivered_item(scan_point=(Decimal("47.607200"), Decimal("-122.332100")))  # ~111 m
    settings.RH = {**settings.RH, "DELIVERY_GPS_MAX_METERS": 100.0}
    dispute = _open_and_decide(item)
    assert dispute.decision == "refund" and 110 < dispute.evidence["distance_m"] < 112


@pytest.mark.django_db
def test_not_delivered_yet_is_denied(department):
    item = _delivered_item(kind=CarrierScan.Kind.IN_TRANSIT)
    Shipment.objects.filter(items=item).update(status=Shipment.Status.IN_TRANSIT)
    dispute = _open_and_decide(item)
    assert dispute.decision == "deny" and dispute.reasons == ["not_delivered_yet"]
