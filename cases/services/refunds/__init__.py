"""Refunds: the ledger (``ledger``), delivered-but-missing disputes (``disputes``), subscription reconciliation
(``subscriptions``), refunds at the first scan of a return parcel (``returns``) and supervision of failed or stuck
refunds (``supervision``). Import the services from here."""

from .ledger import (
    MAX_CLAIMS,
    MAX_ISSUE_ATTEMPTS,
    CheckResult,
    RefundBusy,
    refund_check,
    refund_process,
    refund_request,
    refund_transition,
)

__all__ = [
    "MAX_CLAIMS",
    "MAX_ISSUE_ATTEMPTS",
    "CheckResult",
    "RefundBusy",
    "refund_check",
    "refund_process",
    "refund_request",
    "refund_transition",
]
