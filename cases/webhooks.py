"""Signed webhooks: HMAC-SHA256 over the raw request body with the API key's ``webhook_secret`` (docs/API.md).

Header ``X-RH-Signature: t=<unix seconds>,v1=<hex digest>``; the digest is
``HMAC_SHA256(webhook_secret, f"{t}." + raw_body)``. A timestamp further than ``tolerance`` seconds from now is
refused (replay protection). Several ``v1=`` values are accepted (rotation on the sender's side).

The short form ``X-RH-Signature: sha256=<hex HMAC-SHA256(webhook_secret, raw_body)>`` (no timestamp) is accepted
too, for senders that cannot sign a timestamp; it has no replay window, so only endpoints that are idempotent on an
event id (channel intake) accept it (``allow_untimed=True``).
"""

import hashlib
import hmac
import time

from rest_framework import exceptions, permissions

from cases.models import ApiKey

HEADER = "X-RH-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(exceptions.AuthenticationFailed):
    default_code = "bad_signature"


def webhook_sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts on a request (used by clients, tests and docs)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def webhook_signature_verify(
    *,
    secret: str,
    body: bytes,
    header: str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
    allow_untimed: bool = False,
) -> None:
    """Raise ``SignatureError`` unless ``header`` signs ``body`` with ``secret`` within the time tolerance."""
    if not secret:
        raise SignatureError("This API key has no webhook secret.")
    header = (header or "").strip()
    if header.startswith("sha256="):
        if not allow_untimed:
            raise SignatureError(f"This endpoint needs a timestamped {HEADER} (t=...,v1=...).")
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, header[len("sha256=") :]):
            raise SignatureError("Signature does not match the request body.")
        return
    timestamp, candidates = None, []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1" and value:
            candidates.append(value)
    try:
        t = int(timestamp)
    except (TypeError, ValueError):
        raise SignatureError(f"Missing or malformed {HEADER} header.")
    if not candidates:
        raise SignatureError(f"Missing or malformed {HEADER} header.")
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        raise SignatureError("Signature timestamp outside the tolerance window.")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("Signature does not match the request body.")


class HasValidWebhookSignature(permissions.BasePermission):
    """``permission_classes = [HasScope.of("intake"), HasValidWebhookSignature]`` on a webhook endpoint.

    Reads the raw body before DRF parses it (Django keeps a copy, so ``request.data`` still works)."""

    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        webhook_signature_verify(
            secret=key.webhook_secret, body=request._request.body, header=request.headers.get(HEADER, "")
        )
        return True
