"""Table-driven triage: every intent, every trigger, and messages that must NOT escalate.

Given a message, the earlier customer messages and the customer's context (plain data, as ``manage.py triage``
reads it), when triaged, then the intent, decision, triggers, department and priority are the expected ones."""

from datetime import UTC, datetime

import pytest

from escalations.services import classifier
from escalations.services.triage import explain, triage_evaluate, triage_record

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def order(*, number="112-0000001", total="25.00", shipment=None, hint="", item_value=None):
    value = item_value or total
    return {
        "id": None,
        "number": number,
        "placed_at": "2026-11-15T10:00:00+00:00",
        "total": total,
        "items": [{"id": None, "title": "Thing", "value": value, "department_hint": hint}],
        "shipments": [shipment] if shipment else [],
    }


DELIVERED = {
    "status": "delivered",
    "carrier": "UPS",
    "promised_by": "2026-11-20T20:00:00+00:00",
    "scans": [
        {"kind": "in_transit", "occurred_at": "2026-11-19T08:00:00+00:00", "location": "Kent, WA"},
        {"kind": "delivered", "occurred_at": "2026-11-20T15:00:00+00:00", "location": "Seattle, WA", "photo_ref": "p1"},
    ],
}
IN_TRANSIT = {
    "status": "in_transit",
    "carrier": "UPS",
    "promised_by": "2026-11-26T20:00:00+00:00",
    "scans": [{"kind": "in_transit", "occurred_at": "2026-11-23T08:00:00+00:00", "location": "Kent, WA"}],
}
OVERDUE = {**IN_TRANSIT, "promised_by": "2026-11-21T20:00:00+00:00"}
CANCELLED_PRIME = {
    "plan": "Prime",
    "status": "cancelled",
    "cancelled_at": "2026-10-10T00:00:00+00:00",
    "charges": [
        {"id": 7, "amount": "14.99", "charged_at": "2026-10-01T00:00:00+00:00", "refunded": False},
        {"id": 8, "amount": "14.99", "charged_at": "2026-11-01T00:00:00+00:00", "refunded": False},
    ],
}
ACTIVE_PRIME = {
    "plan": "Prime",
    "status": "active",
    "cancelled_at": None,
    "charges": [{"id": 9, "amount": "14.99", "charged_at": "2026-11-01T00:00:00+00:00", "refunded": False}],
}
REFUNDED_PRIME = {**CANCELLED_PRIME, "charges": [{**CANCELLED_PRIME["charges"][1], "refunded": True}]}
DENIAL = [{"at": "2026-11-20T00:00:00+00:00", "reason": "Outside the return window", "source": "assistant"}]

SMALL_IN_TRANSIT = {"orders": [order(shipment=IN_TRANSIT)]}
SMALL_DELIVERED = {"orders": [order(shipment=DELIVERED)]}
BIG_IN_TRANSIT = {"orders": [order(total="899.00", shipment=IN_TRANSIT)]}
BIG_ITEM = {"orders": [order(total="520.00", item_value="510.00", shipment=IN_TRANSIT)]}
AT_THRESHOLD = {"orders": [order(total="500.00", shipment=IN_TRANSIT)]}
OVERDUE_CTX = {"orders": [order(shipment=OVERDUE)]}
PHARMACY = {"orders": [order(shipment=IN_TRANSIT, hint="pharmacy")]}
EREADER = {"orders": [order(shipment=DELIVERED, hint="ereader")]}
REP = "talk to a representative"

# (id, message, history, context, intent, decision, triggers that must fire, triggers that must not, department, priority)
CASES = [
    # --- tracking: answered from the scans, never escalated on its own
    ("track-1", "where is my package", [], SMALL_IN_TRANSIT, "tracking", "answer", [], ["high_value"], "general", None),
    ("track-2", "wher is my pakage??", [], SMALL_IN_TRANSIT, "tracking", "answer", [], [], "general", None),
    ("track-3", "when will my order arrive", [], SMALL_IN_TRANSIT, "tracking", "answer", [], [], "general", None),
    ("track-4", "has my order shipped yet", [], {}, "tracking", "answer", [], [], "general", None),
    (
        "track-5",
        "Can I get an update on my order 112-0000001",
        [],
        SMALL_IN_TRANSIT,
        "tracking",
        "answer",
        [],
        [],
        "general",
        None,
    ),
    # --- the customer's data decides: Delivered scan → missing delivered package
    (
        "ctx-delivered-1",
        "where is my package",
        [],
        SMALL_DELIVERED,
        "missing_delivered",
        "escalate",
        ["delivered_dispute"],
        ["high_value"],
        "general",
        3,
    ),
    (
        "ctx-delivered-2",
        "when will my order arrive",
        [],
        SMALL_DELIVERED,
        "missing_delivered",
        "escalate",
        ["delivered_dispute"],
        [],
        "general",
        3,
    ),
    ("ctx-overdue", "where is my package", [], OVERDUE_CTX, "late_delivery", "answer", [], [], "general", None),
    # --- missing delivered from words
    (
        "missing-1",
        "it says delivered but I never got it",
        [],
        SMALL_DELIVERED,
        "missing_delivered",
        "escalate",
        ["delivered_dispute"],
        [],
        "general",
        3,
    ),
    (
        "missing-2",
        "package marked delivered but its not here",
        [],
        {},
        "missing_delivered",
        "escalate",
        ["delivered_dispute"],
        [],
        "general",
        3,
    ),
    # --- late delivery
    ("late-1", "my order is late", [], SMALL_IN_TRANSIT, "late_delivery", "answer", [], [], "general", None),
    (
        "late-2",
        "it was supposed to arrive yesterday",
        [],
        SMALL_IN_TRANSIT,
        "late_delivery",
        "answer",
        [],
        [],
        "general",
        None,
    ),
    # --- return / refund: guided workflow
    ("return-1", "I want to return an item", [], SMALL_DELIVERED, "return_refund", "answer", [], [], "general", None),
    ("return-2", "how do I return this", [], SMALL_DELIVERED, "return_refund", "answer", [], [], "general", None),
    (
        "return-3",
        "the item arrived broken, I want my money back",
        [],
        {},
        "return_refund",
        "answer",
        [],
        [],
        "general",
        None,
    ),
    # --- subscription billing: the seed's use case resolves itself
    (
        "sub-1",
        "Subscription refund",
        [],
        {"subscription": CANCELLED_PRIME},
        "subscription_billing",
        "resolve",
        [],
        ["disputed_refund_denial"],
        "general",
        None,
    ),
    (
        "sub-2",
        "I cancelled prime but was charged",
        [],
        {"subscription": CANCELLED_PRIME},
        "subscription_billing",
        "resolve",
        [],
        [],
        "general",
        None,
    ),
    (
        "sub-3",
        "refund the charge please",
        [],
        {"subscription": CANCELLED_PRIME},
        "subscription_billing",
        "resolve",
        [],
        [],
        "general",
        None,
    ),
    (
        "sub-active",
        "Subscription refund",
        [],
        {"subscription": ACTIVE_PRIME},
        "subscription_billing",
        "answer",
        [],
        [],
        "general",
        None,
    ),
    (
        "sub-done",
        "Subscription refund",
        [],
        {"subscription": REFUNDED_PRIME},
        "subscription_billing",
        "answer",
        [],
        [],
        "general",
        None,
    ),
    # --- a denied refund being disputed
    (
        "dispute-1",
        "that's not right, I want my refund",
        [],
        {"subscription": ACTIVE_PRIME, "refund_denials": DENIAL},
        None,
        "escalate",
        ["disputed_refund_denial"],
        [],
        "general",
        3,
    ),
    (
        "dispute-2",
        "I disagree with that decision",
        [],
        {"refund_denials": DENIAL},
        None,
        "escalate",
        ["disputed_refund_denial"],
        [],
        "general",
        3,
    ),
    (
        "no-dispute",
        "where is my package",
        [],
        {**SMALL_IN_TRANSIT, "refund_denials": DENIAL},
        "tracking",
        "answer",
        [],
        ["disputed_refund_denial"],
        "general",
        None,
    ),
    # --- account security / phishing: always human, urgent, fraud queue
    ("sec-1", "someone hacked my account", [], {}, "account_security", "escalate", ["security"], [], "fraud", 1),
    (
        "sec-2",
        "there are orders I didn't place",
        [],
        SMALL_IN_TRANSIT,
        "account_security",
        "escalate",
        ["security"],
        [],
        "fraud",
        1,
    ),
    (
        "sec-3",
        "unknown login from another country",
        [],
        {},
        "account_security",
        "escalate",
        ["security"],
        [],
        "fraud",
        1,
    ),
    ("phish-1", "I got a phishing email", [], {}, "phishing_report", "escalate", ["security"], [], "fraud", 1),
    (
        "phish-2",
        "someone called claiming to be amazon support and wanted my password",
        [],
        {},
        "phishing_report",
        "escalate",
        ["security"],
        [],
        "fraud",
        1,
    ),
    ("phish-3", "report a scam email", [], {}, "phishing_report", "escalate", ["security"], [], "fraud", 1),
    # --- settlement claim: answered with the claims route
    (
        "claim-1",
        "how do I file my prime settlement claim",
        [],
        {},
        "settlement_claim",
        "answer",
        [],
        [],
        "claims",
        None,
    ),
    ("claim-2", "settlement claim", [], {}, "settlement_claim", "answer", [], [], "claims", None),
    # --- address change
    ("addr-1", "change my delivery address", [], SMALL_IN_TRANSIT, "address_change", "answer", [], [], "general", None),
    ("addr-2", "I moved, update address", [], {}, "address_change", "answer", [], [], "general", None),
    # --- product questions, with department from words or item hint
    ("prod-1", "is this laptop compatible with mac", [], {}, "product_question", "answer", [], [], "general", None),
    ("prod-2", "how do I reset my kindle", [], {}, "product_question", "answer", [], [], "ereader", None),
    ("prod-3", "question about my prescription refill", [], {}, "product_question", "answer", [], [], "pharmacy", None),
    # --- other
    ("other-1", "hello", [], {}, "other", "answer", [], [], "general", None),
    ("other-2", "I need more help", [], {}, "other", "answer", [], [], "general", None),
    # --- representative: once is not enough, twice transfers
    ("rep-once", REP, [], {}, "other", "answer", [], ["repeated_representative"], "general", None),
    ("rep-twice", REP, [REP], {}, "other", "escalate", ["repeated_representative"], [], "general", 3),
    (
        "rep-twice-mixed",
        "Talk to a representative",
        [{"role": "customer", "text": "I want to speak to a human"}, {"role": "assistant", "text": "Tell me more"}],
        {},
        None,
        "escalate",
        ["repeated_representative"],
        [],
        "general",
        3,
    ),
    (
        "rep-assistant-only",
        REP,
        [{"role": "assistant", "text": "Ask for a representative again"}],
        {},
        "other",
        "answer",
        [],
        ["repeated_representative"],
        "general",
        None,
    ),
    # --- high value over $500 (order total or item)
    (
        "value-order",
        "where is my package",
        [],
        BIG_IN_TRANSIT,
        "tracking",
        "escalate",
        ["high_value"],
        [],
        "general",
        2,
    ),
    (
        "value-item",
        "I want to return an item",
        [],
        BIG_ITEM,
        "return_refund",
        "escalate",
        ["high_value"],
        [],
        "general",
        2,
    ),
    (
        "value-at-500",
        "where is my package",
        [],
        AT_THRESHOLD,
        "tracking",
        "answer",
        [],
        ["high_value"],
        "general",
        None,
    ),
    (
        "value-not-order-intent",
        "is this laptop compatible with mac",
        [],
        BIG_IN_TRANSIT,
        "product_question",
        "answer",
        [],
        ["high_value"],
        "general",
        None,
    ),
    # --- sentiment and urgency
    (
        "angry-1",
        "This is ridiculous, I'm furious, where is my package",
        [],
        SMALL_IN_TRANSIT,
        None,
        "escalate",
        ["negative_sentiment"],
        [],
        "general",
        2,
    ),
    (
        "angry-2",
        "third time I ask, worst service ever",
        [],
        {},
        None,
        "escalate",
        ["negative_sentiment"],
        [],
        "general",
        2,
    ),
    (
        "urgent-1",
        "I need it today, it's urgent! where is my order",
        [],
        SMALL_IN_TRANSIT,
        None,
        "escalate",
        ["urgency"],
        [],
        "general",
        2,
    ),
    ("urgent-2", "please change my address asap", [], {}, None, "escalate", ["urgency"], [], "general", 2),
    ("calm", "thanks, that's great", [], {}, "other", "answer", [], ["negative_sentiment", "urgency"], "general", None),
    # --- specialised departments from the item's hint
    ("hint-pharmacy", "my order is late", [], PHARMACY, "late_delivery", "answer", [], [], "pharmacy", None),
    (
        "hint-ereader",
        "it says delivered but I never got it",
        [],
        EREADER,
        "missing_delivered",
        "escalate",
        ["delivered_dispute"],
        [],
        "ereader",
        3,
    ),
]


def test_the_table_covers_every_intent_and_trigger():
    intents = {row[4] for row in CASES if row[4]}
    assert intents == {
        "tracking", "missing_delivered", "late_delivery", "return_refund", "subscription_billing", "account_security",
        "phishing_report", "settlement_claim", "address_change", "product_question", "other",
    }  # fmt: skip
    fired = {t for row in CASES for t in row[6]}
    assert fired >= {
        "negative_sentiment", "urgency", "high_value", "repeated_representative", "disputed_refund_denial", "security",
        "delivered_dispute",
    }  # fmt: skip
    assert len(CASES) >= 40
    assert sum(1 for row in CASES if row[5] != "escalate") >= 20


@pytest.mark.parametrize(
    ("message", "history", "context", "intent", "decision", "fire", "quiet", "department", "priority"),
    [row[1:] for row in CASES],
    ids=[row[0] for row in CASES],
)
def test_triage(message, history, context, intent, decision, fire, quiet, department, priority):
    result = triage_evaluate(message=message, history=history, context=context, now=NOW)

    if intent:
        assert result.intent == intent
    assert result.decision == decision, (result.intent, result.triggers)
    for trigger in fire:
        assert trigger in result.triggers
    for trigger in quiet:
        assert trigger not in result.triggers
    assert result.department == department
    assert result.priority == priority
    assert 0 <= result.confidence <= 1
    if decision == "escalate":
        assert result.channel_offer == ["chat", "callback"]
    else:
        assert result.answer


def test_tracking_answer_comes_from_the_scans():
    result = triage_evaluate(message="where is my package", context=SMALL_IN_TRANSIT, now=NOW)

    assert "112-0000001" in result.answer
    assert "in transit" in result.answer
    assert "Kent, WA" in result.answer


def test_subscription_resolution_names_the_charges_taken_after_cancellation():
    result = triage_evaluate(message="Subscription refund", context={"subscription": CANCELLED_PRIME}, now=NOW)

    assert result.action == {"type": "subscription_refund", "charge_ids": [8], "amount": "14.99"}


def test_delivered_scan_reason_is_structured():
    result = triage_evaluate(message="where is my package", context=SMALL_DELIVERED, now=NOW)

    codes = [r["code"] for r in result.reasons]
    assert "context_delivered_scan" in codes
    changed = next(r for r in result.reasons if r["code"] == "context_delivered_scan")
    assert changed["was"] == "tracking"
    evidence = next(r for r in result.reasons if r["code"] == "delivered_dispute")
    assert evidence["photo"] is True and evidence["order"] == "112-0000001"


def test_high_value_reason_carries_value_and_threshold():
    result = triage_evaluate(message="where is my package", context=BIG_IN_TRANSIT, now=NOW)

    reason = next(r for r in result.reasons if r["code"] == "high_value")
    assert reason["value"] == "899.00"
    assert reason["threshold"] == "500.00"


def test_triggers_are_configurable(settings):
    settings.RH_TRIAGE = {"TRIGGERS": {"high_value": False}, "REPRESENTATIVE_REQUESTS": 3}

    assert triage_evaluate(message="where is my package", context=BIG_IN_TRANSIT, now=NOW).decision == "answer"
    assert triage_evaluate(message=REP, history=[REP], now=NOW).decision == "answer"
    assert triage_evaluate(message=REP, history=[REP, REP], now=NOW).decision == "escalate"


def test_threshold_is_configurable(settings):
    settings.RH_TRIAGE = {"HIGH_VALUE_THRESHOLD": "20.00"}

    assert "high_value" in triage_evaluate(message="where is my package", context=SMALL_IN_TRANSIT, now=NOW).triggers


@pytest.mark.django_db
def test_a_stored_decision_keeps_and_explains_its_reasons():
    result = triage_evaluate(message="where is my package", context=BIG_IN_TRANSIT, now=NOW)

    decision = triage_record(result=result, message="where is my package")

    decision.refresh_from_db()
    assert decision.outcome == "escalate" and decision.triggers == ["high_value"]
    assert any(r["code"] == "classifier" for r in decision.reasons)
    assert any("$899.00" in line and "over $500.00" in line for line in explain(decision))


def test_classifier_held_out_accuracy_floor():
    report = classifier.evaluate()

    assert report["examples"] >= 500
    assert report["held_out_groups"] >= 40
    assert report["accuracy"] >= 0.6, report
