"""django-axes in front of Django's ModelBackend (AUTHENTICATION_BACKENDS)."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username/address before the password is checked.

    Every login form and API of this portal passes ``request`` to ``authenticate``; a call without one (the test
    client's ``login()``, a management shell) has no address to throttle on, so it is left to ModelBackend instead
    of raising ``AxesBackendRequestParameterRequired`` from deep inside Django.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
