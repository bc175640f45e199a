"""Writes in the customer's world. This app knows nothing of cases: callers (the carrier-scan intake in
``cases``) decide what a scan means for refunds."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from .models import CarrierScan, Return, Shipment

# What a scan says about where the parcel is. A label scan never moves a parcel backwards.
SCAN_TO_STATUS = {
    CarrierScan.Kind.LABEL_CREATED: Shipment.Status.LABEL_CREATED,
    CarrierScan.Kind.PICKED_UP: Shipment.Status.IN_TRANSIT,
    CarrierScan.Kind.IN_TRANSIT: Shipment.Status.IN_TRANSIT,
    CarrierScan.Kind.OUT_FOR_DELIVERY: Shipment.Status.OUT_FOR_DELIVERY,
    CarrierScan.Kind.DELIVERED: Shipment.Status.DELIVERED,
    CarrierScan.Kind.EXCEPTION: Shipment.Status.DELAYED,
}


class UnknownShipment(LookupError):
    pass


@dataclass(frozen=True)
class ScanResult:
    scan: CarrierScan
    created: bool  # False: a redelivered carrier event, nothing changed
    first_return_scan: Return | None  # set when this scan is the first carrier scan of a return parcel


@transaction.atomic
def carrier_scan_record(
    *,
    tracking_number: str,
    external_id: str,
    kind: str,
    occurred_at: datetime,
    location: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    photo_ref: str = "",
) -> ScanResult:
    """Record one carrier event (idempotent on tracking number + carrier event id) and move the shipment on.

    Under the shipment's row lock: the shipment status follows the latest scan by ``occurred_at`` (an event that
    arrives late does not move it back); a Delivered scan sets ``delivered_at``; for a return parcel the first
    scan that is not just a label moves the Return to IN_TRANSIT with ``first_scan_at``, and a Delivered scan to
    RECEIVED."""
    shipment = Shipment.objects.select_for_update(no_key=True).filter(tracking_number=tracking_number).first()
    if shipment is None:
        raise UnknownShipment(tracking_number)
    existing = CarrierScan.objects.filter(shipment=shipment, external_id=external_id).first()
    if existing is not None:
        return ScanResult(existing, False, None)
    latest = shipment.scans.order_by("-occurred_at", "-id").first()
    try:
        with transaction.atomic():
            scan = CarrierScan.objects.create(
                shipment=shipment,
                external_id=external_id,
                kind=kind,
                occurred_at=occurred_at,
                location=location,
                latitude=latitude,
                longitude=longitude,
                photo_ref=photo_ref,
            )
    except IntegrityError:  # pragma: no cover - the shipment lock serialises writers; belt and braces
        return ScanResult(CarrierScan.objects.get(shipment=shipment, external_id=external_id), False, None)

    fields = []
    if latest is None or occurred_at >= latest.occurred_at:
        new_status = SCAN_TO_STATUS[kind]
        if not (kind == CarrierScan.Kind.LABEL_CREATED and latest is not None):
            shipment.status = new_status
            fields.append("status")
    if kind == CarrierScan.Kind.DELIVERED and shipment.delivered_at is None:
        shipment.delivered_at = occurred_at
        fields.append("delivered_at")
    if fields:
        shipment.save(update_fields=fields)

    first_return_scan = None
    if shipment.direction == Shipment.Direction.RETURN and kind != CarrierScan.Kind.LABEL_CREATED:
        ret = Return.objects.select_for_update(no_key=True).filter(shipment=shipment).first()
        if ret is not None and ret.status != Return.Status.CANCELLED:
            if ret.first_scan_at is None:
                ret.first_scan_at = occurred_at
                if ret.status in (Return.Status.REQUESTED, Return.Status.LABEL_ISSUED):
                    ret.status = Return.Status.IN_TRANSIT
                first_return_scan = ret
            if kind == CarrierScan.Kind.DELIVERED:
                ret.status = Return.Status.RECEIVED
            ret.save(update_fields=["first_scan_at", "status"])
    return ScanResult(scan, True, first_return_scan)
