"""Returns are refunded at the carrier's first scan of the return parcel ("refund at first scan"): no waiting for
the warehouse. ``carrier_scan_intake`` is the one service behind the carrier-scan API: it records the scan in the
customer's world (``customers.services.carrier_scan_record``) and, when that scan is the first of a return parcel,
requests the refund in the ledger with key ``return:<return id>`` in the same transaction."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from cases.errors import ApplicationError, Conflict
from cases.models import Case, Refund
from customers.models import Return
from customers.services import ScanResult, UnknownShipment, carrier_scan_record

from .ledger import refund_request


@transaction.atomic
def carrier_scan_intake(
    *,
    tracking_number: str,
    external_id: str,
    kind: str,
    occurred_at: datetime,
    location: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    photo_ref: str = "",
    actor=None,
) -> tuple[ScanResult, Refund | None]:
    try:
        result = carrier_scan_record(
            tracking_number=tracking_number,
            external_id=external_id,
            kind=kind,
            occurred_at=occurred_at,
            location=location,
            latitude=latitude,
            longitude=longitude,
            photo_ref=photo_ref,
        )
    except UnknownShipment:
        raise ApplicationError(
            "No shipment has this tracking number.",
            fields={"tracking_number": ["Unknown tracking number."]},
            code="unknown_tracking_number",
        )
    refund = None
    if result.first_return_scan is not None:
        refund = return_refund_at_first_scan(ret=result.first_return_scan, actor=actor)
    return result, refund


def return_refund_at_first_scan(*, ret: Return, actor=None) -> Refund | None:
    """Request the refund of the returned item. None when the item already has a live refund elsewhere."""
    item = ret.order_item
    case = Case.objects.filter(order_item=item, customer_id=item.order.customer_id).order_by("-created_at").first()
    try:
        return refund_request(
            idempotency_key=f"return:{ret.pk}",
            customer=item.order.customer,
            amount=item.line_total,
            reason=f"return of {item.title} picked up by the carrier",
            source=Refund.Source.RETURN_SCAN,
            order_item=item,
            case=case,
            actor=actor,
        )
    except Conflict:
        return None
