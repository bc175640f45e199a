"""API-key authentication for machine clients. Keys look like ``rh_<prefix>_<secret>``; only a SHA-256 of the
whole key is stored, so a database leak does not leak keys."""

import hmac

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from cases.models import ApiKey
from cases.services.api_keys import api_key_create, hash_key  # noqa: F401  (re-exported: older callers)


class ApiClient:
    """The authenticated principal of a machine request. Never a human: cannot issue goodwill credits."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, key: ApiKey):
        self.key = key

    def get_username(self) -> str:
        return f"api-key:{self.key.name}"

    def __str__(self) -> str:
        return self.get_username()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        raw = ""
        if header.startswith(f"{self.keyword} rh_"):
            raw = header[len(self.keyword) + 1 :].strip()
        else:
            raw = request.headers.get("X-Api-Key", "").strip()
        if not raw:
            return None
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != "rh":
            raise exceptions.AuthenticationFailed("Malformed API key.")
        key = ApiKey.objects.filter(prefix=parts[1]).first()
        if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw)) or not key.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return ApiClient(key), key

    def authenticate_header(self, request):
        return self.keyword


class HasScope(permissions.BasePermission):
    """``permission_classes = [HasScope.of("intake")]``: API keys need the scope."""

    required_scope = ""

    @classmethod
    def of(cls, scope: str):
        return type(f"HasScope_{scope.replace(':', '_')}", (cls,), {"required_scope": scope})

    def has_permission(self, request, view):
        auth = request.auth
        return isinstance(auth, ApiKey) and self.required_scope in (auth.scopes or [])
