"""django-axes in front of Django's ModelBackend (AUTHENTICATION_BACKENDS). Sessions are kept by the ModelBackend
(axes' backend only refuses logins), which loads a signed-in user together with their agent profile."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UserWithProfileMixin:
    """``request.user`` with its ``AgentProfile`` in the same query (LEFT JOIN). Every back-office request asks for
    the profile (the staff gate, the role, presence and capacity), so this is one query less per request; for a
    customer the join finds no profile and ``user.agent`` raises ``DoesNotExist`` without a query."""

    def get_user(self, user_id):
        User = get_user_model()
        try:
            user = User._default_manager.select_related("agent").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


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


class ProfileModelBackend(UserWithProfileMixin, ModelBackend):
    """Django's username/password backend."""
