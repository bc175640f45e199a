"""Login lockout (django-axes), session key rotation, logout, staff idle/absolute timeouts, deactivation."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from cases.models import AgentProfile, Role, StaffSession
from cases.services.security import user_deactivate
from cases.tests.factories import AgentFactory
from customers.tests.factories import CustomerFactory

PASSWORD = "pass-word-123"  # customers.tests.factories.UserFactory


def _login(client, username, password=PASSWORD, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["customer", "associate"])
def test_five_wrong_passwords_lock_the_account_from_that_address_with_429(client, who, department):
    # given a customer or an associate
    user = CustomerFactory().user if who == "customer" else AgentFactory(departments=[department]).user
    # when someone guesses four wrong passwords, the form just says "didn't match"
    for _ in range(4):
        assert _login(client, user.username, "wrong-guess").status_code == 200
    # the fifth wrong guess locks the sign-in, and then even the right password is refused with 429
    assert _login(client, user.username, "wrong-guess").status_code == 429
    response = _login(client, user.username)
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_lockout_is_per_address_and_a_success_resets_the_count(client, customer):
    # given four failures from one address and then a success
    for _ in range(4):
        _login(client, customer.user.username, "wrong")
    assert _login(client, customer.user.username).status_code == 302
    client.post(reverse("logout"))
    # when four more failures happen, the count started again: the fifth attempt (right password) succeeds
    for _ in range(4):
        _login(client, customer.user.username, "wrong")
    assert _login(client, customer.user.username).status_code == 302
    client.post(reverse("logout"))
    # and a lock on one address does not stop the owner signing in from another
    for _ in range(5):
        _login(client, customer.user.username, "wrong", ip="10.9.9.9")
    assert _login(client, customer.user.username, ip="10.9.9.9").status_code == 429
    assert _login(client, customer.user.username, ip="10.0.0.1").status_code == 302


@pytest.mark.django_db
def test_lockout_ends_after_the_cooloff(client, customer):
    for _ in range(5):
        _login(client, customer.user.username, "wrong")
    assert _login(client, customer.user.username).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _login(client, customer.user.username).status_code == 302


@pytest.mark.django_db
def test_login_issues_a_new_session_key_and_logout_ends_the_session(client, customer):
    # given an anonymous visitor who already has a session (e.g. planted by an attacker)
    client.get(reverse("login"))
    session = client.session
    session["planted"] = "x"
    session.save()
    before = session.session_key
    # when they sign in
    assert _login(client, customer.user.username).status_code == 302
    after = client.session.session_key
    # then the session key changed and the old one is gone
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    # when they sign out (POST), the session is deleted server-side and pages need a login again
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=after).exists()
    assert client.get(reverse("escalations:my_cases")).status_code == 302


@pytest.mark.django_db
def test_logout_by_get_is_refused(client, customer):
    client.force_login(customer.user)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("escalations:my_cases")).status_code == 200


@pytest.mark.django_db
def test_staff_session_ends_after_30_idle_minutes(client, agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert _login(client, agent.username).status_code == 302
        assert client.get(reverse("cases:queues")).status_code == 200
        # active every 25 minutes for two hours: still signed in
        for _ in range(5):
            traveller.shift(timedelta(minutes=25))
            assert client.get(reverse("cases:queues")).status_code == 200
        # then 31 minutes without a request
        traveller.shift(timedelta(minutes=31))
        response = client.get(reverse("cases:queues"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert not StaffSession.objects.filter(user=agent).exists()


@pytest.mark.django_db
def test_staff_session_ends_ten_hours_after_sign_in_however_active(client, agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        _login(client, agent.username)
        for _ in range(25):  # every 29 minutes: never idle
            traveller.shift(timedelta(minutes=29))
            last = client.get(reverse("cases:queues"))
            if last.status_code != 200:
                break
    # 10 h = 600 min: the request at 21 x 29 = 609 min is refused
    assert last.status_code == 302
    assert last["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_customer_sessions_have_no_staff_idle_timeout(client, customer):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.force_login(customer.user)
        traveller.shift(timedelta(hours=3))
        assert client.get(reverse("escalations:my_cases")).status_code == 200


@pytest.mark.django_db
def test_deactivated_staff_loses_every_session_at_once_and_reactivation_does_not_revive_them(department):
    from django.test import Client

    # given an associate signed in on two browsers, and a supervisor
    associate = AgentFactory(departments=[department]).user
    boss = AgentFactory(role=Role.SUPERVISOR, departments=[department]).user
    laptop, phone = Client(), Client()
    _login(laptop, associate.username)
    _login(phone, associate.username, ip="10.0.0.2")
    assert StaffSession.objects.filter(user=associate).count() == 2
    # when the supervisor deactivates the account
    ended = user_deactivate(user=associate, actor=boss)
    # then both sessions are gone now, not at their next expiry
    assert ended == 2
    for browser in (laptop, phone):
        assert browser.get(reverse("cases:queues")).status_code == 302
    # and re-activating the account does not bring the old sessions back
    associate.is_active = True
    associate.save()
    assert laptop.get(reverse("cases:queues")).status_code == 302


@pytest.mark.django_db
def test_deactivation_through_the_admin_or_any_save_ends_sessions(client, agent):
    _login(client, agent.username)
    agent.is_active = False
    agent.save()
    assert not StaffSession.objects.filter(user=agent).exists()
    assert client.get(reverse("cases:queues")).status_code == 302


@pytest.mark.django_db
def test_a_supervisor_cannot_deactivate_themselves(supervisor):
    from cases.errors import NotAllowed

    with pytest.raises(NotAllowed):
        user_deactivate(user=supervisor, actor=supervisor)


def test_a_signed_in_user_comes_with_their_agent_profile_in_one_query(agent, customer, django_assert_num_queries):
    from cases.selectors import agent_profile_of
    from config.auth_backends import ProfileModelBackend

    backend = ProfileModelBackend()
    with django_assert_num_queries(1):
        staff = backend.get_user(agent.pk)
        assert agent_profile_of(staff).user_id == agent.pk
    with django_assert_num_queries(1):  # a customer: the join finds no profile, and asking costs nothing more
        person = backend.get_user(customer.user_id)
        assert agent_profile_of(person) is None
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert backend.get_user(agent.pk) is None  # deactivated staff are signed out, as with ModelBackend


@pytest.mark.django_db
def test_signing_out_of_the_last_session_takes_an_associate_offline(client, agent):
    # given an available associate signed in from two browsers
    from django.test import Client

    AgentProfile.objects.filter(user=agent).update(presence="available")
    other = Client()
    for c in (client, other):
        assert _login(c, agent.username).status_code == 302
    # when they sign out of one, they are still at work elsewhere: presence stays
    assert client.post(reverse("logout")).status_code == 302
    assert AgentProfile.objects.get(user=agent).presence == "available"
    # when they sign out of the last one, the roster no longer shows them available (and no callback is offered)
    assert other.post(reverse("logout")).status_code == 302
    profile = AgentProfile.objects.get(user=agent)
    assert profile.presence == "offline" and not StaffSession.objects.filter(user=agent).exists()


def test_the_signed_in_user_is_what_the_orm_builds(agent, customer, django_user_model):
    """The backend's statement is compiled once and re-executed (cases.rawrows.compiled): same fields, same profile."""
    from config.auth_backends import ProfileModelBackend

    def values(obj):
        return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}

    backend = ProfileModelBackend()
    for user in (agent, customer.user, agent):
        expected = django_user_model.objects.select_related("agent").get(pk=user.pk)
        got = backend.get_user(user.pk)
        assert values(got) == values(expected)
        if hasattr(expected, "agent"):
            assert values(got.agent) == values(expected.agent)
        else:
            assert not hasattr(got, "agent")
    assert backend.get_user(10**9) is None
