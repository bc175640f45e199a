"""API keys of machine clients: create, rotate, revoke. Keys look like ``rh_<prefix>_<secret>``; only a SHA-256
of the whole key is stored, so a database leak does not leak keys. The raw key is returned once, never stored."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cases.errors import ApplicationError, Conflict
from cases.models import ApiKey
from cases.services.audit import audit_record

VALID_SCOPES = frozenset(ApiKey.Scope.values)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_raw_key() -> tuple[str, str]:
    prefix = secrets.token_hex(4)
    return prefix, f"rh_{prefix}_{secrets.token_urlsafe(32)}"


def _clean_scopes(scopes) -> list[str]:
    scopes = sorted(set(scopes or []))
    unknown = [s for s in scopes if s not in VALID_SCOPES]
    if unknown:
        raise ApplicationError(
            f"Unknown scope(s): {', '.join(unknown)}.", fields={"scopes": [f"Choose from {sorted(VALID_SCOPES)}."]}
        )
    return scopes


@transaction.atomic
def api_key_create(
    *, name: str, scopes: list[str], actor=None, expires_at=None, webhook_secret: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw secret, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A key needs a name.", fields={"name": ["Required."]})
    prefix, raw = _new_raw_key()
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw),
        scopes=_clean_scopes(scopes),
        webhook_secret=webhook_secret or secrets.token_hex(32),
        expires_at=expires_at,
    )
    audit_record(action="api_key.created", obj=key, actor=actor, data={"prefix": prefix, "scopes": key.scopes})
    return key, raw


@transaction.atomic
def api_key_rotate(*, key_id: int, actor=None, grace: timedelta = timedelta(0)) -> tuple[ApiKey, str]:
    """Issue a replacement with the same name and scopes and a new webhook secret; the old key stops working
    after ``grace`` (0: at once), so a client can switch over without downtime."""
    old = ApiKey.objects.select_for_update().get(pk=key_id)
    if not old.is_active:
        raise Conflict("This key is revoked or expired; create a new one instead.", code="api_key_inactive")
    now = timezone.now()
    prefix, raw = _new_raw_key()
    new = ApiKey.objects.create(
        name=old.name,
        prefix=prefix,
        key_hash=hash_key(raw),
        scopes=list(old.scopes),
        webhook_secret=secrets.token_hex(32),
        expires_at=old.expires_at,
    )
    if grace > timedelta(0):
        old.expires_at = min(old.expires_at, now + grace) if old.expires_at else now + grace
        old.save(update_fields=["expires_at"])
    else:
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
    audit_record(
        action="api_key.rotated",
        obj=new,
        actor=actor,
        data={"old_prefix": old.prefix, "new_prefix": prefix, "grace_seconds": int(grace.total_seconds())},
    )
    return new, raw


@transaction.atomic
def api_key_revoke(*, key_id: int, actor=None) -> ApiKey:
    """Revoke at once. Idempotent: revoking a revoked key changes nothing."""
    key = ApiKey.objects.select_for_update().get(pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(action="api_key.revoked", obj=key, actor=actor, data={"prefix": key.prefix})
    return key
