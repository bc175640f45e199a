"""Stripe-style idempotency keys for unsafe API calls (docs/API.md).

``idempotency_begin`` claims (principal, key) in its own committed transaction, so the service that follows keeps
its own transactions (and refusal audits) intact. The same key with the same request replays the stored response;
the same key with a different request is refused (422); a second call while the first is still running gets 409.
A claim that was never finished (the process died) can be taken over after ``STALE_AFTER``.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.errors import ApplicationError, Conflict
from cases.models import IdempotencyRecord

STALE_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(ApplicationError):
    http_status = 422
    code = "idempotency_key_reused"


class IdempotencyInFlight(Conflict):
    code = "idempotency_in_flight"


@dataclass(frozen=True)
class Claim:
    record_id: int
    replay_status: int | None = None
    replay_body: dict | list | None = None

    @property
    def is_replay(self) -> bool:
        return self.replay_status is not None


def idempotency_fingerprint(*, method: str, path: str, body) -> str:
    canonical = json.dumps(
        {"m": method.upper(), "p": path, "b": body}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_begin(*, principal: str, key: str, fingerprint: str) -> Claim:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApplicationError(
            "An Idempotency-Key header of 1–255 characters is required.",
            fields={"Idempotency-Key": ["Required, at most 255 characters."]},
            code="idempotency_key_required",
        )
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(principal=principal, key=key, fingerprint=fingerprint)
        return Claim(record_id=record.pk)
    except IntegrityError:
        pass
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().get(principal=principal, key=key)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with different parameters.",
                fields={"Idempotency-Key": ["Use a new key for a different request."]},
            )
        if record.response_status is not None:
            return Claim(record_id=record.pk, replay_status=record.response_status, replay_body=record.response_body)
        if timezone.now() - record.created_at < STALE_AFTER:
            raise IdempotencyInFlight("A request with this Idempotency-Key is still being processed. Retry shortly.")
        record.created_at = timezone.now()  # take over an abandoned claim
        record.save(update_fields=["created_at"])
        return Claim(record_id=record.pk)


def idempotency_finish(*, record_id: int, status: int, body) -> None:
    IdempotencyRecord.objects.filter(pk=record_id).update(response_status=status, response_body=body)


def idempotency_abandon(*, record_id: int) -> None:
    """The call failed before it changed anything we must replay (a refused or invalid request): free the key."""
    IdempotencyRecord.objects.filter(pk=record_id, response_status__isnull=True).delete()
