"""The evidence check for a "Delivered, but I never got it" claim: pure rules over collected facts.

``delivery_evidence_collect`` reads the facts (Delivered scan, delivery photo, GPS point vs the shipping address,
item value, earlier missing-package refunds); ``delivery_evidence_judge`` applies the rules in this order:

1. ``high_value``      item value over ``RH["HIGH_VALUE_THRESHOLD"]`` (500.00 is not over; 500.01 is) → human
2. ``claim_history``   ``DELIVERY_CLAIM_MAX`` or more earlier missing-package refunds within
                       ``DELIVERY_CLAIM_WINDOW_DAYS`` → human
3. ``no_shipment``     no outbound shipment for the item → human
4. no Delivered scan:  shipment LOST → refund (``carrier_lost``); otherwise → deny (``not_delivered_yet``)
5. no GPS point:       photo → human (``no_gps``); no photo either → refund (``no_proof_of_delivery``)
6. GPS distance > ``DELIVERY_GPS_MAX_METERS`` → refund (``delivered_away_from_address``)
7. within the distance (equal counts as within): photo → deny (``proof_of_delivery``); no photo → human
   (``no_photo``)
"""

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from cases.models import Refund
from customers.models import CarrierScan, OrderItem, Shipment

EARTH_RADIUS_M = 6_371_008.8
LIVE = ("requested", "checking", "approved", "issued")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class DeliveryEvidence:
    item_value: Decimal
    currency: str
    shipment_id: int | None = None
    tracking_number: str = ""
    shipment_status: str = ""
    delivered_scan: bool = False
    delivered_at: datetime | None = None
    photo: bool = False
    scan_point: tuple[float, float] | None = None
    address_point: tuple[float, float] | None = None
    distance_m: float | None = None
    prior_claims: int = 0
    prior_claim_refund_ids: list[int] = field(default_factory=list)

    def as_data(self) -> dict:
        data = asdict(self)
        data["item_value"] = str(self.item_value)
        data["delivered_at"] = self.delivered_at.isoformat() if self.delivered_at else None
        data["distance_m"] = round(self.distance_m, 1) if self.distance_m is not None else None
        return data


@dataclass(frozen=True)
class Verdict:
    decision: str  # DeliveryDispute.Decision value: refund / deny / human
    reasons: list[str]
    customer_message: str
    summary: str  # for the associate


@dataclass(frozen=True)
class EvidenceRules:
    high_value: Decimal
    gps_max_m: float
    claim_max: int
    claim_window: timedelta

    @classmethod
    def from_settings(cls) -> "EvidenceRules":
        rh = settings.RH
        return cls(
            high_value=Decimal(str(rh["HIGH_VALUE_THRESHOLD"])),
            gps_max_m=float(rh.get("DELIVERY_GPS_MAX_METERS", 150.0)),
            claim_max=int(rh.get("DELIVERY_CLAIM_MAX", 2)),
            claim_window=timedelta(days=int(rh.get("DELIVERY_CLAIM_WINDOW_DAYS", 365))),
        )


def delivery_evidence_collect(
    *, order_item: OrderItem, rules: EvidenceRules, now: datetime | None = None
) -> DeliveryEvidence:
    now = now or timezone.now()
    order = order_item.order
    evidence = DeliveryEvidence(item_value=order_item.line_total, currency=order_item.currency)
    address = order.shipping_address
    if address is not None:
        evidence.address_point = (float(address.latitude), float(address.longitude))
    shipment = (
        Shipment.objects.filter(order=order, direction=Shipment.Direction.OUTBOUND)
        .filter(items=order_item)
        .order_by("-id")
        .first()
    ) or Shipment.objects.filter(order=order, direction=Shipment.Direction.OUTBOUND).order_by("-id").first()
    if shipment is not None:
        evidence.shipment_id = shipment.pk
        evidence.tracking_number = shipment.tracking_number
        evidence.shipment_status = shipment.status
        scan = shipment.scans.filter(kind=CarrierScan.Kind.DELIVERED).order_by("-occurred_at", "-id").first()
        if scan is not None:
            evidence.delivered_scan = True
            evidence.delivered_at = scan.occurred_at
            evidence.photo = bool(scan.photo_ref.strip())
            if scan.latitude is not None and scan.longitude is not None:
                evidence.scan_point = (float(scan.latitude), float(scan.longitude))
    if evidence.scan_point and evidence.address_point:
        evidence.distance_m = haversine_m(*evidence.scan_point, *evidence.address_point)
    prior = (
        Refund.objects.filter(
            customer_id=order.customer_id,
            source=Refund.Source.DELIVERY_CHECK,
            status__in=LIVE,
            created_at__gte=now - rules.claim_window,
        )
        .exclude(order_item=order_item)
        .values_list("pk", flat=True)
    )
    evidence.prior_claim_refund_ids = sorted(prior)
    evidence.prior_claims = len(evidence.prior_claim_refund_ids)
    return evidence


def delivery_evidence_judge(evidence: DeliveryEvidence, *, rules: EvidenceRules) -> Verdict:
    money = f"${evidence.item_value}" if evidence.currency == "USD" else f"{evidence.item_value} {evidence.currency}"
    human_msg = "An associate is reviewing your claim and will get back to you. You can follow it under My cases."
    if evidence.item_value > rules.high_value:
        return Verdict(
            "human",
            ["high_value"],
            human_msg,
            f"High-value item ({money} is over the {rules.high_value} line): always reviewed by an associate.",
        )
    if evidence.prior_claims >= rules.claim_max:
        return Verdict(
            "human",
            ["claim_history"],
            human_msg,
            f"{evidence.prior_claims} earlier missing-package refund(s) in the last {rules.claim_window.days} days "
            f"(limit {rules.claim_max}): review the claim history.",
        )
    if evidence.shipment_id is None:
        return Verdict("human", ["no_shipment"], human_msg, "No outbound shipment found for this item.")
    if not evidence.delivered_scan:
        if evidence.shipment_status == Shipment.Status.LOST:
            return Verdict(
                "refund",
                ["carrier_lost"],
                f"The carrier reported your package lost. We are refunding {money}.",
                "Carrier reported the shipment lost; refunded automatically.",
            )
        status = Shipment.Status(evidence.shipment_status).label if evidence.shipment_status else "unknown"
        return Verdict(
            "deny",
            ["not_delivered_yet"],
            f"Your package has not been marked as delivered yet (latest status: {status}). "
            "Track it under Your Orders; if it has not arrived by the promised date, contact us again.",
            f"No Delivered scan yet (status {evidence.shipment_status}); customer told to wait.",
        )
    if evidence.distance_m is None:
        if evidence.photo:
            return Verdict(
                "human", ["no_gps"], human_msg, "Delivered scan with a photo but no GPS point: check the photo."
            )
        return Verdict(
            "refund",
            ["no_proof_of_delivery"],
            f"The carrier could not show where your package was left. We are refunding {money}.",
            "Delivered scan without GPS point or photo: no proof of delivery; refunded automatically.",
        )
    distance = f"{evidence.distance_m:.0f} m"
    if evidence.distance_m > rules.gps_max_m:
        return Verdict(
            "refund",
            ["delivered_away_from_address"],
            f"The carrier marked your package delivered {distance} from your address. We are refunding {money}.",
            f"Delivered scan {distance} from the shipping address (limit {rules.gps_max_m:.0f} m); refunded.",
        )
    if evidence.photo:
        when = timezone.localtime(evidence.delivered_at).strftime("%b %d at %H:%M") if evidence.delivered_at else ""
        return Verdict(
            "deny",
            ["proof_of_delivery"],
            f"The carrier's delivery photo and GPS location show your package was left at your address on {when}. "
            "Please check around your door, mailroom and with neighbours. If you still cannot find it, reply to "
            "ask for an associate.",
            f"Delivered at the address ({distance}, limit {rules.gps_max_m:.0f} m) with a delivery photo: denied.",
        )
    return Verdict(
        "human",
        ["no_photo"],
        human_msg,
        f"Delivered scan at the address ({distance}) but no delivery photo: check with the carrier.",
    )
