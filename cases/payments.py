"""Payments-service adapter. The default is a local sandbox that records payouts and can be told to fail or be
slow (``RH_PAYMENTS`` settings), so every path runs on this machine. A real adapter implements the same two
calls (``refund`` and ``find``) and must honour the idempotency key (the provider deduplicates on it, as Stripe does)."""

import secrets
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.module_loading import import_string


class PaymentError(Exception):
    """Permanent: the provider refused (closed account, invalid amount). Not retried."""


class TransientPaymentError(PaymentError):
    """Timeout, 5xx, connection reset: safe to retry with the same idempotency key."""


@dataclass(frozen=True)
class Payout:
    reference: str
    amount: Decimal
    currency: str


class SandboxPayments:
    def __init__(self, *, fail: str = "", slow_seconds: float = 0.0):
        self.fail = fail  # "", "transient" or "permanent"
        self.slow_seconds = slow_seconds

    def refund(self, *, idempotency_key: str, amount: Decimal, currency: str) -> Payout:
        from cases.models import SandboxPayout

        if self.slow_seconds:
            time.sleep(self.slow_seconds)
        if self.fail == "transient":
            raise TransientPaymentError("sandbox: simulated timeout")
        if self.fail == "permanent":
            raise PaymentError("sandbox: simulated decline")
        try:
            with transaction.atomic():
                payout = SandboxPayout.objects.create(
                    idempotency_key=idempotency_key,
                    amount=amount,
                    currency=currency,
                    reference=f"po_{secrets.token_hex(8)}",
                )
        except IntegrityError:
            SandboxPayout.objects.filter(idempotency_key=idempotency_key).update(calls=F("calls") + 1)
            payout = SandboxPayout.objects.get(idempotency_key=idempotency_key)
        return Payout(reference=payout.reference, amount=payout.amount, currency=payout.currency)

    def find(self, *, idempotency_key: str) -> Payout | None:
        """The payout made for this key, if any (used after a worker was lost mid-call too many times)."""
        from cases.models import SandboxPayout

        payout = SandboxPayout.objects.filter(idempotency_key=idempotency_key).first()
        if payout is None:
            return None
        return Payout(reference=payout.reference, amount=payout.amount, currency=payout.currency)


def payments_adapter():
    conf = dict(getattr(settings, "RH_PAYMENTS", {}))
    cls = import_string(conf.pop("ADAPTER", "cases.payments.SandboxPayments"))
    return cls(**{k.lower(): v for k, v in conf.items()})
