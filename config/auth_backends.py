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
        """``User.objects.select_related("agent").get(pk=user_id)``, compiled once per connection (the ORM spent
        ~0.3 ms compiling it on every signed-in request; ``cases.rawrows.compiled``): the same SQL and instances."""
        from django.db import DEFAULT_DB_ALIAS, connections
        from django.db.models.query import MAX_GET_RESULTS

        from cases import rawrows

        User = get_user_model()
        connection = connections[DEFAULT_DB_ALIAS]
        user_id = User._meta.pk.get_db_prep_value(user_id, connection, prepared=False)

        def build():
            return User._default_manager.select_related("agent").filter(pk=_USER_SLOT)[:MAX_GET_RESULTS], {
                "user": _USER_SLOT
            }

        found = rawrows.compiled("user_with_profile", build, connection=connection).fetch(
            {"user": user_id}, connection=connection
        )
        if len(found) != 1:
            return None  # no such user (get() would raise DoesNotExist: None); pk is unique
        user = found[0]
        return user if self.user_can_authenticate(user) else None


# The stand-in id (in every integer column's range) the statement is compiled with (rawrows.CompiledQuery).
_USER_SLOT = -2_147_483_003


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
