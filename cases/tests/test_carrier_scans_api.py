"""Carrier-scan intake: idempotent scans, shipment status, refund at the first scan of a return parcel."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.auth import api_key_create
from cases.models import Refund
from customers.models import Return, Shipment
from customers.services import carrier_scan_record
from customers.tests.factories import OrderItemFactory, ShipmentFactory

URL = "/api/v1/carrier/scans/"


@pytest.fixture
def carrier(api_client, db):
    _key, raw = api_key_create(name="ups-feed", scopes=["carrier"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api_client


def _return_parcel():
    item = OrderItemFactory(unit_price=Decimal("40.00"), quantity=2)
    shipment = ShipmentFactory(order=item.order, direction=Shipment.Direction.RETURN)
    ret = Return.objects.create(order_item=item, shipment=shipment, reason="too small", status="label_issued")
    return item, shipment, ret


def _scan(shipment, event_id="ev-1", kind="picked_up", **extra):
    return {
        "tracking_number": shipment.tracking_number,
        "event_id": event_id,
        "kind": kind,
        "occurred_at": (extra.pop("at", None) or timezone.now()).isoformat(),
        **extra,
    }


@pytest.mark.django_db
def test_first_scan_of_a_return_parcel_starts_the_refund(carrier, django_capture_on_commit_callbacks):
    item, shipment, ret = _return_parcel()
    with django_capture_on_commit_callbacks() as callbacks:
        response = carrier.post(URL, _scan(shipment), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    refund = Refund.objects.get()
    assert body["return_refund_id"] == refund.pk and body["duplicate"] is False
    assert body["shipment_status"] == "in_transit"
    assert refund.idempotency_key == f"return:{ret.pk}" and refund.amount == Decimal("80.00")
    assert refund.source == "return_scan" and refund.order_item == item
    ret.refresh_from_db()
    assert ret.status == "in_transit" and ret.first_scan_at is not None
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_redelivered_event_and_later_scans_do_not_refund_again(carrier):
    _item, shipment, ret = _return_parcel()
    carrier.post(URL, _scan(shipment), format="json")
    again = carrier.post(URL, _scan(shipment), format="json")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    later = carrier.post(URL, _scan(shipment, event_id="ev-2", kind="in_transit"), format="json")
    assert later.status_code == 201 and later.json()["return_refund_id"] is None
    delivered = carrier.post(URL, _scan(shipment, event_id="ev-3", kind="delivered"), format="json")
    assert delivered.json()["shipment_status"] == "delivered"
    assert Refund.objects.count() == 1
    ret.refresh_from_db()
    assert ret.status == "received"


@pytest.mark.django_db
def test_label_scan_is_not_the_first_carrier_scan(carrier):
    _item, shipment, ret = _return_parcel()
    response = carrier.post(URL, _scan(shipment, kind="label_created"), format="json")
    assert response.status_code == 201 and response.json()["return_refund_id"] is None
    ret.refresh_from_db()
    assert ret.first_scan_at is None and not Refund.objects.exists()


@pytest.mark.django_db
def test_outbound_delivered_scan_records_gps_and_photo(carrier):
    shipment = ShipmentFactory(status="out_for_delivery")
    response = carrier.post(
        URL,
        _scan(shipment, kind="delivered", latitude="47.606200", longitude="-122.332100", photo_ref="p/1.jpg"),
        format="json",
    )
    assert response.status_code == 201
    shipment.refresh_from_db()
    assert shipment.status == "delivered" and shipment.delivered_at is not None
    scan = shipment.scans.get()
    assert scan.latitude == Decimal("47.606200") and scan.photo_ref == "p/1.jpg"
    assert not Refund.objects.exists()


@pytest.mark.django_db
def test_late_arriving_older_event_does_not_move_the_shipment_back():
    shipment = ShipmentFactory()
    now = timezone.now()
    carrier_scan_record(tracking_number=shipment.tracking_number, external_id="b", kind="delivered", occurred_at=now)
    carrier_scan_record(
        tracking_number=shipment.tracking_number,
        external_id="a",
        kind="in_transit",
        occurred_at=now - timedelta(hours=3),
    )
    shipment.refresh_from_db()
    assert shipment.status == "delivered"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tracking_number": "NOPE"}, "tracking_number"),
        ({"kind": "teleported"}, "kind"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"latitude": "91"}, "latitude"),
        ({"latitude": "47.1"}, "longitude"),
        ({"event_id": ""}, "event_id"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_writes_nothing(carrier, change, field):
    _item, shipment, _ret = _return_parcel()
    response = carrier.post(URL, {**_scan(shipment), **change}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in (body.get("errors") or body)
    assert not shipment.scans.exists() and not Refund.objects.exists()


@pytest.mark.django_db
def test_needs_a_key_with_the_carrier_scope(api_client):
    _item, shipment, _ret = _return_parcel()
    assert api_client.post(URL, _scan(shipment), format="json").status_code in (401, 403)
    _key, raw = api_key_create(name="bot", scopes=["intake"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.post(URL, _scan(shipment), format="json").status_code == 403
