"""A sandbox adapter for the chaos test: slow (so SIGKILLs land mid-call), some refunds declined for good
(amounts ending in .13), some calls failing transiently at random. Selected with RH_PAYMENTS_ADAPTER."""

import random
from decimal import Decimal

from cases.payments import PaymentError, SandboxPayments, TransientPaymentError


class ChaosPayments(SandboxPayments):
    def refund(self, *, idempotency_key: str, amount: Decimal, currency: str):
        if amount % 1 == Decimal("0.13"):
            raise PaymentError("sandbox: card account closed")
        if random.random() < 0.1:
            raise TransientPaymentError("sandbox: simulated timeout")
        return super().refund(idempotency_key=idempotency_key, amount=amount, currency=currency)
