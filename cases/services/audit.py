"""Append to the hash-chained audit log in the caller's transaction."""

import hashlib
import json
from datetime import UTC

from django.db import transaction
from django.utils import timezone

from cases.models import AuditChainHead, AuditLog

GENESIS = "0" * 64


def audit_entry_hash(entry: AuditLog, *, prev_hash: str) -> str:
    """SHA-256 over the entry's recorded fields and the previous entry's hash (canonical JSON)."""
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "at": entry.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": entry.actor_id,
            "actor": entry.actor_label,
            "action": entry.action,
            "object": f"{entry.object_type}:{entry.object_id}",
            "data": entry.data,
            "ip": entry.ip_address,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def actor_label_for(actor) -> str:
    if actor is None:
        return "system"
    return actor.get_username() if hasattr(actor, "get_username") else str(actor)


def audit_record(
    *,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    actor=None,
    actor_label: str = "",
    data: dict | None = None,
    ip_address: str | None = None,
) -> AuditLog:
    """Write one audit entry chained to the previous one. Must run inside the transaction of the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # the very first entry of a database
        AuditChainHead.objects.get_or_create(pk=1)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    payload = json.loads(json.dumps(data or {}, default=str))
    entry = AuditLog(
        occurred_at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_label=actor_label or actor_label_for(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=payload,
        ip_address=ip_address,
        prev_hash=head.last_hash,
    )
    entry.hash = audit_entry_hash(entry, prev_hash=entry.prev_hash)
    entry.save()
    AuditChainHead.objects.filter(pk=1).update(last_hash=entry.hash, last_id=entry.pk)
    return entry


def audit_verify() -> tuple[int, AuditLog | None]:
    """Walk the chain; return (entries checked, first broken entry or None)."""
    prev = GENESIS
    checked = 0
    for entry in AuditLog.objects.order_by("id").iterator(chunk_size=2000):
        expected = audit_entry_hash(entry, prev_hash=prev)
        if entry.prev_hash != prev or entry.hash != expected:
            return checked, entry
        prev = entry.hash
        checked += 1
    return checked, None
