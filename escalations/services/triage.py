"""The triage engine: intent + confidence + triggers → answer automatically, resolve automatically or escalate.

``triage_evaluate`` is pure: it reads the message, the conversation so far and the customer's context as plain
data (the shape ``manage.py triage`` reads from JSONL and ``escalations.selectors.customer_context`` builds from
the database) and returns a ``TriageResult`` whose every reason is structured data. ``triage_record`` stores it
as a ``TriageDecision``. Rules and thresholds come from ``settings.RH_TRIAGE`` (see docs/TRIAGE.md).
"""

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cases.models import Channel, Intent, Priority
from cases.redaction import redact
from escalations.services import classifier

ANSWER, RESOLVE, ESCALATE = "answer", "resolve", "escalate"
SECURITY_INTENTS = (Intent.ACCOUNT_SECURITY, Intent.PHISHING_REPORT)
ORDER_INTENTS = (
    Intent.TRACKING,
    Intent.MISSING_DELIVERED,
    Intent.LATE_DELIVERY,
    Intent.RETURN_REFUND,
    Intent.ADDRESS_CHANGE,
)
DEFAULTS = {
    # Each trigger can be switched off; security is on by default and documented as "always human".
    "TRIGGERS": {
        "negative_sentiment": True,
        "urgency": True,
        "high_value": True,
        "repeated_representative": True,
        "disputed_refund_denial": True,
        "security": True,
        "delivered_dispute": True,
    },
    "SENTIMENT_THRESHOLD": -0.45,  # VADER compound score at or below which the customer is upset
    "REPRESENTATIVE_REQUESTS": 2,  # "talk to a representative" this many times → transfer
    "MIN_CONFIDENCE": 0.30,  # below: intent "other" unless the context decides
    "URGENCY_CUES": [
        r"\burgent(ly)?\b",
        r"\basap\b",
        r"\bimmediately\b",
        r"\bright now\b",
        r"\bemergency\b",
        r"\bas soon as possible\b",
        r"\bneed (it|this) (today|tonight|now)\b",
    ],
    "FRUSTRATION_CUES": [
        r"\bfed up\b",
        r"\bridiculous\b",
        r"\bunacceptable\b",
        r"\bthird time\b",
        r"\bsick of\b",
        r"\bwaste of (my )?time\b",
        r"\bworst\b",
        r"\bfurious\b",
        r"\bscam(med)?\b.*\byou\b",
    ],
    "REPRESENTATIVE_CUES": [
        r"\b(talk|speak|chat)\w*\s+(to|with)\s+(a|an|the|some)?\s*(real\s+)?"
        r"(representative|rep|human|person|agent|associate|someone|somebody)\b",
        r"\brepresentative\b",
        r"\b(human|live agent|real person)\b",
        r"\b(give|get|transfer) me (to )?(an? )?(agent|human|person|associate)\b",
    ],
    "DISPUTE_CUES": [
        r"\b(disagree|not fair|unfair|dispute|appeal)\b",
        r"\bthat'?s (not right|wrong)\b",
        r"\bwhy (not|did you (deny|refuse)|was it (denied|refused))\b",
        r"\bi (still )?(want|deserve) (a|my) refund\b",
        r"\bnot (acceptable|ok|okay)\b",
        r"\brefus(e|ed)\b",
        r"\bdenied\b",
    ],
    "DEPARTMENT_WORDS": {
        "ereader": [r"\bkindle\b", r"\be-?reader\b"],
        "pharmacy": [r"\bpharmacy\b", r"\bprescription\b", r"\brefill\b"],
    },
}
SUBSCRIPTION_WORDS = re.compile(r"(?i)\b(prime|subscription|membership|member|renewal|billed|charged?)\b")


def config() -> dict:
    merged = {**DEFAULTS, **getattr(settings, "RH_TRIAGE", {})}
    merged["TRIGGERS"] = {**DEFAULTS["TRIGGERS"], **getattr(settings, "RH_TRIAGE", {}).get("TRIGGERS", {})}
    merged.setdefault("HIGH_VALUE_THRESHOLD", settings.RH["HIGH_VALUE_THRESHOLD"])
    return merged


@lru_cache(maxsize=1)
def _sentiment_analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    return float(_sentiment_analyzer().polarity_scores(text)["compound"])


def _matches(patterns: list[str], text: str) -> list[str]:
    return [p for p in patterns if re.search(p, text, flags=re.IGNORECASE)]


def _dec(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return Decimal("0")


def _dt(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.utc)
    return parsed


@dataclass
class TriageResult:
    intent: str
    confidence: float
    decision: str
    department: str = "general"
    priority: int | None = None
    channel_offer: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)
    answer: str = ""
    action: dict = field(default_factory=dict)
    order_number: str = ""
    item_id: int | None = None
    value_at_stake: str = "0.00"

    @property
    def escalate(self) -> bool:
        return self.decision == ESCALATE

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> dict:
        """What a case keeps in ``Case.triage``."""
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 3),
            "decision": self.decision,
            "department": self.department,
            "priority": self.priority,
            "triggers": self.triggers,
        }


def _customer_texts(history: list) -> list[str]:
    texts = []
    for item in history or []:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict) and item.get("role", "customer") == "customer":
            texts.append(str(item.get("text") or item.get("body") or ""))
    return texts


def _outbound_shipments(order: dict) -> list[dict]:
    return [s for s in order.get("shipments") or [] if s.get("direction", "outbound") == "outbound"]


def _last_scan(shipment: dict) -> dict | None:
    scans = sorted(shipment.get("scans") or [], key=lambda s: _dt(s.get("occurred_at")) or datetime.min)
    return scans[-1] if scans else None


def _is_delivered(shipment: dict) -> bool:
    return shipment.get("status") == "delivered" or any(
        s.get("kind") == "delivered" for s in shipment.get("scans") or []
    )


def _referenced_order(text: str, orders: list[dict], intent: str) -> tuple[dict | None, str]:
    for order in orders:
        number = str(order.get("number") or "")
        if number and number in text:
            return order, "mentioned in the message"
    if intent in ORDER_INTENTS and orders:
        recent = sorted(orders, key=lambda o: _dt(o.get("placed_at")) or datetime.min, reverse=True)
        shipped = [o for o in recent if _outbound_shipments(o)]
        return (shipped or recent)[0], "most recent order"
    return None, ""


def _order_value(order: dict) -> tuple[Decimal, dict | None]:
    items = order.get("items") or []
    top = max(items, key=lambda i: _dec(i.get("value")), default=None)
    top_value = _dec(top.get("value")) if top else Decimal("0")
    return max(_dec(order.get("total")), top_value), top


def charges_after_cancellation(subscription: dict | None) -> list[dict]:
    """Charges taken after the subscription was cancelled (refunded or not)."""
    if not subscription or not subscription.get("cancelled_at"):
        return []
    cancelled = _dt(subscription["cancelled_at"])
    if cancelled is None:
        return []
    return [c for c in subscription.get("charges") or [] if (_dt(c.get("charged_at")) or cancelled) > cancelled]


def refundable_charges(subscription: dict | None) -> list[dict]:
    """Charges taken after the subscription was cancelled and not refunded yet."""
    return [c for c in charges_after_cancellation(subscription) if not c.get("refunded")]


def triage_evaluate(
    *, message: str, history: list | None = None, context: dict | None = None, now: datetime | None = None
) -> TriageResult:
    """Decide what happens with one customer message. Pure: no database access."""
    cfg = config()
    on = cfg["TRIGGERS"]
    context = context or {}
    now = now or timezone.now()
    text = redact(message or "").strip()
    orders = context.get("orders") or []
    reasons: list[dict] = []
    triggers: list[str] = []

    # 1. Intent from words.
    intent, probability, top = classifier.predict(text) if text else (Intent.OTHER, 0.0, {})
    reasons.append({"code": "classifier", "intent": intent, "probability": round(probability, 3), "top": top})
    if probability < cfg["MIN_CONFIDENCE"]:
        reasons.append({"code": "low_confidence", "detail": f"below {cfg['MIN_CONFIDENCE']}", "was": intent})
        intent = Intent.OTHER
    confidence = probability

    # 2. Intent from the customer's data.
    order, why = _referenced_order(text, orders, intent)
    shipment = None
    if order is not None:
        shipments = _outbound_shipments(order)
        shipment = shipments[-1] if shipments else None
    if shipment is not None and intent in (Intent.TRACKING, Intent.LATE_DELIVERY) and _is_delivered(shipment):
        scan = _last_scan(shipment) or {}
        reasons.append(
            {
                "code": "context_delivered_scan",
                "detail": f"order {order.get('number')} shows a Delivered scan",
                "was": intent,
                "scan_at": str(scan.get("occurred_at") or shipment.get("delivered_at") or ""),
            }
        )
        intent = Intent.MISSING_DELIVERED
    elif shipment is not None and intent == Intent.TRACKING and not _is_delivered(shipment):
        promised = _dt(shipment.get("promised_by"))
        if promised is not None and promised < now:
            reasons.append(
                {
                    "code": "context_past_promise",
                    "detail": f"order {order.get('number')} was promised by {promised:%Y-%m-%d %H:%M} and is not delivered",
                    "was": intent,
                }
            )
            intent = Intent.LATE_DELIVERY
    charges = refundable_charges(context.get("subscription"))
    if charges and intent in (Intent.RETURN_REFUND, Intent.OTHER) and SUBSCRIPTION_WORDS.search(text):
        reasons.append(
            {"code": "context_charge_after_cancellation", "detail": "a charge after cancellation exists", "was": intent}
        )
        intent = Intent.SUBSCRIPTION_BILLING
    if intent != Intent.OTHER and intent != reasons[0]["intent"]:
        confidence = max(confidence, 0.9)

    result = TriageResult(intent=str(intent), confidence=round(min(max(confidence, 0.0), 1.0), 3), decision=ANSWER)
    if order is not None:
        result.order_number = str(order.get("number") or "")
        value, top_item = _order_value(order)
        result.value_at_stake = str(value.quantize(Decimal("0.01")))
        if top_item is not None and top_item.get("id") is not None:
            result.item_id = top_item.get("id")
        reasons.append(
            {
                "code": "order_in_view",
                "order": result.order_number,
                "order_id": order.get("id"),
                "item_id": result.item_id,
                "why": why,
                "value": str(value),
            }
        )

    # 3. Department.
    department = "general"
    if intent in SECURITY_INTENTS:
        department = "fraud"
    elif intent == Intent.SETTLEMENT_CLAIM:
        department = "claims"
    else:
        hints = [i.get("department_hint") for i in (order or {}).get("items") or [] if i.get("department_hint")]
        if hints:
            department = hints[0]
            reasons.append({"code": "department_hint", "department": department, "order": result.order_number})
        else:
            for slug, patterns in cfg["DEPARTMENT_WORDS"].items():
                if _matches(patterns, text):
                    department = slug
                    reasons.append({"code": "department_words", "department": slug})
                    break
    result.department = department

    # 4. Triggers.
    if intent in SECURITY_INTENTS and on["security"]:
        triggers.append("security")
        reasons.append({"code": "security", "detail": "account security, fraud and phishing always go to a human"})
    score = sentiment(text) if text else 0.0
    frustration = _matches(cfg["FRUSTRATION_CUES"], text)
    reasons.append({"code": "sentiment", "compound": round(score, 3), "frustration_cues": frustration})
    if on["negative_sentiment"] and (score <= cfg["SENTIMENT_THRESHOLD"] or frustration):
        triggers.append("negative_sentiment")
    urgency = _matches(cfg["URGENCY_CUES"], text)
    if on["urgency"] and urgency:
        triggers.append("urgency")
        reasons.append({"code": "urgency", "cues": urgency})
    threshold = _dec(cfg["HIGH_VALUE_THRESHOLD"])
    if on["high_value"] and order is not None and _dec(result.value_at_stake) > threshold:
        triggers.append("high_value")
        reasons.append(
            {
                "code": "high_value",
                "order": result.order_number,
                "value": result.value_at_stake,
                "threshold": str(threshold),
            }
        )
    asks = [t for t in [*_customer_texts(history or []), text] if _matches(cfg["REPRESENTATIVE_CUES"], t)]
    if asks:
        reasons.append(
            {"code": "representative_requests", "count": len(asks), "needed": cfg["REPRESENTATIVE_REQUESTS"]}
        )
    if on["repeated_representative"] and len(asks) >= cfg["REPRESENTATIVE_REQUESTS"]:
        triggers.append("repeated_representative")
    denials = context.get("refund_denials") or []
    disputing = _matches(cfg["DISPUTE_CUES"], text)
    if (
        on["disputed_refund_denial"]
        and denials
        and (disputing or intent in (Intent.RETURN_REFUND, Intent.SUBSCRIPTION_BILLING))
    ):
        triggers.append("disputed_refund_denial")
        reasons.append({"code": "disputed_refund_denial", "denials": len(denials), "cues": disputing})
    if intent == Intent.MISSING_DELIVERED and on["delivered_dispute"]:
        triggers.append("delivered_dispute")
        reasons.append(_delivery_evidence(shipment, order))

    # 5. Decision.
    result.triggers = triggers
    if triggers:
        result.decision = ESCALATE
        result.channel_offer = [Channel.CHAT.value, Channel.CALLBACK.value]
        if "security" in triggers:
            result.priority = Priority.URGENT.value
        elif {"high_value", "urgency", "negative_sentiment"} & set(triggers):
            result.priority = Priority.HIGH.value
        else:
            result.priority = Priority.NORMAL.value
        result.answer = _escalation_text(result)
    else:
        _automate(result, intent=intent, order=order, shipment=shipment, context=context, asks=len(asks), cfg=cfg)
    result.reasons = reasons
    return result


def _delivery_evidence(shipment: dict | None, order: dict | None) -> dict:
    scan = _last_scan(shipment) if shipment else None
    return {
        "code": "delivered_dispute",
        "order": (order or {}).get("number", ""),
        "delivered_scan_at": str((scan or {}).get("occurred_at") or (shipment or {}).get("delivered_at") or ""),
        "photo": bool((scan or {}).get("photo_ref")),
        "gps": (scan or {}).get("latitude") is not None,
    }


def _escalation_text(result: TriageResult) -> str:
    if "security" in result.triggers:
        return (
            "This needs our account-security team, available 24/7. Choose live chat or a call back and an associate "
            "will take it with the highest priority. Never share your password or full card number."
        )
    return "I'll bring in an associate for this. Choose a live chat or let us call you now."


def _automate(result: TriageResult, *, intent, order, shipment, context, asks: int, cfg: dict) -> None:
    if intent == Intent.TRACKING:
        result.answer = _tracking_answer(order, shipment)
        result.action = {"type": "tracking_answer", "order": result.order_number}
    elif intent == Intent.LATE_DELIVERY:
        result.answer = (
            f"{_tracking_answer(order, shipment)} I'm sorry it is late. If it has not arrived within 2 days, "
            "tell me and I'll start a refund or replacement."
        )
        result.action = {"type": "late_delivery_answer", "order": result.order_number}
    elif intent == Intent.SUBSCRIPTION_BILLING:
        charges = refundable_charges(context.get("subscription"))
        if charges:
            total = sum((_dec(c.get("amount")) for c in charges), Decimal("0"))
            result.decision = RESOLVE
            result.action = {
                "type": "subscription_refund",
                "charge_ids": [c.get("id") for c in charges],
                "amount": str(total),
            }
            result.value_at_stake = str(total)
            result.answer = (
                f"You were charged ${total} after cancelling your membership. That is a billing error, so I'm "
                "refunding it now."
            )
        elif charges_after_cancellation(context.get("subscription")):
            done = charges_after_cancellation(context.get("subscription"))
            total = sum((_dec(c.get("amount")) for c in done), Decimal("0"))
            result.action = {"type": "already_refunded", "charge_ids": [c.get("id") for c in done]}
            result.answer = (
                f"The ${total} charged after your cancellation has already been refunded; the confirmation is in "
                "your Message Center. Nothing more to do."
            )
        else:
            result.action = {"type": "refund_denied", "why": "no charge after cancellation"}
            result.answer = (
                "I checked your membership charges and found none taken after a cancellation, so I can't refund "
                "one automatically. If you think that's wrong, tell me and I'll bring in an associate."
            )
    elif intent == Intent.RETURN_REFUND:
        result.action = {"type": "guided_refund", "order": result.order_number}
        result.answer = (
            "I can help with that: go to Your orders, choose the item and 'Return or replace'. Your refund is "
            "issued as soon as the carrier scans the return parcel."
        )
    elif intent == Intent.SETTLEMENT_CLAIM:
        result.action = {"type": "settlement_info"}
        result.answer = (
            "Settlement claims are handled by our claims team: use the claim form in your account or write to the "
            "dedicated claims address. Nobody handling your claim will ever ask for your password."
        )
    elif intent == Intent.ADDRESS_CHANGE:
        result.action = {"type": "address_help"}
        result.answer = (
            "You can change the address of an order that has not shipped yet under Your orders → Change address. "
            "For orders already on the way, the carrier's tracking page offers a redirect."
        )
    elif intent == Intent.PRODUCT_QUESTION:
        result.action = {"type": "product_answer"}
        result.answer = (
            "The product page's questions and answers cover most of this. What exactly would you like to know?"
        )
    elif asks:
        result.action = {"type": "representative_first_ask"}
        result.answer = (
            "I can connect you with an associate. Tell me a little about the problem first, or ask for a "
            "representative again and I'll transfer you."
        )
    else:
        result.action = {"type": "clarify"}
        result.answer = "Tell me a bit more: is it about an order, a refund, your membership or your account?"


def _tracking_answer(order: dict | None, shipment: dict | None) -> str:
    if order is None:
        return "I can't find a recent order on your account. Which order number is it about?"
    if shipment is None:
        return f"Order {order.get('number')} has not shipped yet."
    scan = _last_scan(shipment)
    status = str(shipment.get("status") or "").replace("_", " ")
    text = f"Order {order.get('number')} is with {shipment.get('carrier') or 'the carrier'}: {status or 'in transit'}."
    if scan:
        when = _dt(scan.get("occurred_at"))
        where = f" in {scan['location']}" if scan.get("location") else ""
        text += f" Last scan: {str(scan.get('kind', '')).replace('_', ' ')}{where}"
        text += f" on {when:%b %d, %H:%M}." if when else "."
    promised = _dt(shipment.get("promised_by"))
    if promised and not _is_delivered(shipment):
        text += f" Expected by {promised:%b %d}."
    return text


def triage_record(*, result: TriageResult, message: str, conversation=None, case=None):
    """Store one decision with its reasons (and the automated action taken, if any) as structured data."""
    from escalations.models import TriageDecision

    reasons = list(result.reasons)
    if result.action:
        reasons.append({"code": "action", **result.action})
    return TriageDecision.objects.create(
        conversation=conversation,
        case=case,
        message=redact(message or "")[: settings.RH["MAX_MESSAGE_LENGTH"]],
        intent=result.intent,
        confidence=Decimal(str(result.confidence)).quantize(Decimal("0.001")),
        outcome=result.decision,
        department_slug=result.department,
        channel_offer=result.channel_offer,
        priority=result.priority,
        triggers=result.triggers,
        reasons=reasons,
    )


def explain(decision) -> list[str]:
    """Human sentences for a stored decision's reasons (shown on the case)."""
    lines = []
    for r in decision.reasons or []:
        code = r.get("code")
        if code == "classifier":
            lines.append(f"Words suggest '{r.get('intent')}' (p={r.get('probability')}).")
        elif code in ("context_delivered_scan", "context_past_promise", "context_charge_after_cancellation"):
            lines.append(f"Customer data changed the intent from '{r.get('was')}': {r.get('detail')}.")
        elif code == "high_value":
            lines.append(f"Order {r.get('order')} is worth ${r.get('value')} (over ${r.get('threshold')}).")
        elif code == "sentiment" and (r.get("frustration_cues") or (r.get("compound") or 0) < 0):
            lines.append(f"Sentiment {r.get('compound')}; frustration cues: {len(r.get('frustration_cues') or [])}.")
        elif code == "urgency":
            lines.append("Urgency cues in the message.")
        elif code == "representative_requests":
            lines.append(f"Asked for a representative {r.get('count')} time(s).")
        elif code == "disputed_refund_denial":
            lines.append("The customer disputes an earlier refund denial.")
        elif code == "security":
            lines.append("Account security, fraud or phishing: always a human, highest priority.")
        elif code == "delivered_dispute":
            lines.append(
                f"Delivered scan disputed (order {r.get('order')}; photo: {'yes' if r.get('photo') else 'no'}, "
                f"GPS: {'yes' if r.get('gps') else 'no'})."
            )
        elif code in ("department_hint", "department_words"):
            lines.append(f"Routed to {r.get('department')}.")
        elif code == "low_confidence":
            lines.append(f"Classifier unsure (was '{r.get('was')}'): treated as other.")
    return lines
