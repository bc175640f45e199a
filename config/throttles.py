"""Rate limits for the REST API: ``throttle_scope = "intake"`` or ``"money"`` on a view turns them on.

Keyed by the API key (machine clients), else the signed-in user, else the client address. A refused request gets
HTTP 429 with ``Retry-After`` (config/exceptions.py). Rates: ``settings.RH_THROTTLE_RATES`` (env RH_THROTTLE_*).
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from cases.models import ApiKey


class ClientScopedThrottle(SimpleRateThrottle):
    scope_attr = "throttle_scope"

    def get_rate(self):
        # Read at request time (not import time) so settings overrides apply.
        return settings.RH_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope or not self.get_rate():
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"
