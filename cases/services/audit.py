"""The tamper-evident audit log: written in the caller's transaction, sealed into a hash chain by one sequencer.

- ``audit_record`` INSERTs the entry in the transaction of the change it records (the change and its audit entry
  commit or roll back together). It takes no lock: concurrent money transactions never wait for each other here.
  The entry is *unsealed* (``seq``/``prev_hash``/``hash`` NULL).
- ``audit_seal`` is the single sequencer: under the ``AuditChainHead`` row lock it takes the committed unsealed
  entries in id order, gives each the next ``seq`` and ``hash = sha256(entry + previous hash)`` in one UPDATE and
  moves the head. The trigger on ``cases_auditlog`` allows only that UPDATE (NULL → sealed, content unchanged).
  Who calls it: the beat task ``audit-seal`` (every 5 s), a Celery worker after each task that recorded entries
  (``audit_seal_if_due``: non-blocking ``SKIP LOCKED``, at most once per ``AUDIT_SEAL_INTERVAL`` seconds per
  process) and ``audit_verify`` (first, so verification covers every committed entry).
- ``audit_verify`` walks the chain in ``seq`` order: each entry must carry the next position, the previous hash
  and its own recomputed hash, and the chain must end where the head says. A modified, removed or reordered entry
  breaks it at (and names) the first entry that no longer fits.
"""

import hashlib
import json
import threading
import time
from contextlib import contextmanager
from datetime import UTC

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cases.models import AuditChainHead, AuditLog

GENESIS = "0" * 64
SEAL_BATCH = 5000

_local = threading.local()


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


@contextmanager
def audit_batch():
    """Entries recorded inside are written with one multi-row INSERT when the block ends (still inside the
    caller's transaction; nothing is written if the block raises — the transaction rolls back anyway)."""
    outer = getattr(_local, "buffer", None)
    if outer is not None:  # nested: the outermost batch writes
        yield
        return
    _local.buffer = []
    try:
        yield
        entries = _local.buffer
    finally:
        _local.buffer = None
    if entries:
        AuditLog.objects.bulk_create(entries)


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
    """Write one (unsealed) audit entry. Must run inside the transaction of the change; takes no lock."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
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
    )
    buffer = getattr(_local, "buffer", None)
    if buffer is not None:
        buffer.append(entry)
    else:
        entry.save()
    _local.dirty = True
    return entry


def audit_seal_if_due() -> int:
    """The writer's share of sealing, called after its work is committed (a Celery worker after each task):
    seal what is pending if this process recorded entries, sealed more than ``AUDIT_SEAL_INTERVAL`` seconds ago,
    and no other sealer holds the chain head. Never waits."""
    if not getattr(_local, "dirty", False):
        return 0
    now = time.monotonic()
    if now - getattr(_local, "last_seal", -1e9) < settings.RH.get("AUDIT_SEAL_INTERVAL", 0.5):
        return 0
    _local.last_seal = now
    _local.dirty = False
    return audit_seal(wait=False)


def audit_seal(*, wait: bool = True, limit: int = SEAL_BATCH) -> int:
    """Seal every committed unsealed entry, in id order, as the next links of the chain. Returns how many.

    ``wait=False``: give up at once if another sealer holds the chain head (it, or the next one, seals ours)."""
    sealed = 0
    while True:
        with transaction.atomic():
            heads = AuditChainHead.objects.select_for_update(skip_locked=not wait).filter(pk=1)
            head = heads.first()
            if head is None:
                if AuditChainHead.objects.filter(pk=1).exists():
                    return sealed  # another sealer holds it
                AuditChainHead.objects.get_or_create(pk=1)
                head = AuditChainHead.objects.select_for_update().get(pk=1)
            pending = list(AuditLog.objects.filter(seq__isnull=True).order_by("id")[:limit])
            if not pending:
                return sealed
            ids, seqs, prevs, hashes = [], [], [], []
            prev, seq = head.last_hash, head.last_seq
            for entry in pending:
                seq += 1
                digest = audit_entry_hash(entry, prev_hash=prev)
                ids.append(entry.pk)
                seqs.append(seq)
                prevs.append(prev)
                hashes.append(digest)
                prev = digest
            _write_seals(ids, seqs, prevs, hashes)
            AuditChainHead.objects.filter(pk=1).update(last_hash=prev, last_seq=seq, last_id=ids[-1])
        sealed += len(pending)
        if len(pending) < limit:
            return sealed


def _write_seals(ids, seqs, prevs, hashes) -> None:
    if connection.vendor == "postgresql":  # one statement for the whole batch
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE cases_auditlog AS a SET seq = v.seq, prev_hash = v.prev, hash = v.hash "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS v(id, seq, prev, hash) "
                "WHERE a.id = v.id AND a.seq IS NULL",
                [ids, seqs, prevs, hashes],
            )
        return
    for pk, seq, prev, digest in zip(ids, seqs, prevs, hashes, strict=True):  # the embedded SQLite default
        AuditLog.objects.filter(pk=pk, seq__isnull=True).update(seq=seq, prev_hash=prev, hash=digest)


def audit_verify() -> tuple[int, AuditLog | None]:
    """Seal what is pending, then walk the chain; return (entries checked, first broken entry or None).

    When the chain is cut at its end (the head says more entries than there are), the "broken entry" is an unsaved
    placeholder carrying the missing position in ``seq``."""
    audit_seal(wait=True)
    head = AuditChainHead.objects.filter(pk=1).first()
    last_seq = head.last_seq if head else 0
    prev = GENESIS
    checked = 0
    for entry in AuditLog.objects.filter(seq__lte=last_seq).order_by("seq").iterator(chunk_size=2000):
        expected = audit_entry_hash(entry, prev_hash=prev)
        if entry.seq != checked + 1 or entry.prev_hash != prev or entry.hash != expected:
            return checked, entry
        prev = entry.hash
        checked += 1
    if checked != last_seq or (head is not None and head.last_hash != prev):
        return checked, AuditLog(seq=checked + 1, action="(missing)", actor_label="?", occurred_at=timezone.now())
    return checked, None
