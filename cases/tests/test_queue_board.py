"""The queue board (``cases:queues``) and its 3-second htmx poll: a fixed number of queries for supervisors and
associates whatever the data size, the team's load per capacity group, and "my cases" bounded on the page."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import selectors
from cases.models import Case, Priority, Role
from cases.services.queue import agent_load
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory

pytestmark = pytest.mark.django_db

HELD = (Case.Status.ASSIGNED, Case.Status.WAITING_CUSTOMER)
CHANNELS = ("chat", "callback", "phone", "social", "email", "web")

# session, the user with their profile (one join: config.auth_backends), then the board: waiting counts, head of the queue, the
# team with everyone's load (the viewer's own included), my cases, my callback offers.
BOARD_QUERIES = 7


def _world(size: int):
    """``size`` waiting cases and ``size`` held cases per associate over two departments; a third department the
    associate does not work in; a peer in both shared departments and one elsewhere."""
    general = DepartmentFactory(slug="general", name="General support")
    pharmacy = DepartmentFactory(slug="pharmacy", name="Pharmacy")
    other = DepartmentFactory(slug="other", name="Other")
    alice = AgentFactory(user__username="alice", departments=[general, pharmacy]).user
    peer = AgentFactory(user__username="bob", departments=[general, pharmacy]).user
    stranger = AgentFactory(user__username="zed", departments=[other]).user
    sam = AgentFactory(user__username="sam", role=Role.SUPERVISOR).user
    for i in range(size):
        dept = (general, pharmacy, other)[i % 3]
        CaseFactory(department=dept, channel=CHANNELS[i % 6], priority=Priority.URGENT if i % 5 == 0 else 3)
        for who in (alice, peer, stranger):
            CaseFactory(department=dept, channel=CHANNELS[i % 6], status=HELD[i % 2], assignee=who)
    return {"alice": alice, "bob": peer, "zed": stranger, "sam": sam}


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize("viewer", ["sam", "alice"])
@pytest.mark.parametrize("partial", [False, True])
def test_the_board_costs_the_same_queries_whatever_the_data(client, django_assert_num_queries, size, viewer, partial):
    # given a world of `size` waiting cases and `size` held cases per associate (60 > the 50 rows the board shows)
    people = _world(size)
    client.force_login(people[viewer])
    headers = {"HX-Request": "true"} if partial else {}
    # when the supervisor or an associate opens the board, or its poll asks for the fragment
    with django_assert_num_queries(BOARD_QUERIES):
        response = client.get(reverse("cases:queues"), headers=headers)
    # then the same number of queries whatever the size, and the page is the page asked for
    assert response.status_code == 200
    html = response.content.decode()
    assert ("<html" in html) is not partial
    assert 'id="agents"' in html and 'id="waiting"' in html


def test_the_team_shows_each_associate_once_with_their_load_per_capacity_group(db):
    people = _world(12)
    # an associate sees the associates of their departments (the peer once, though they share two), themselves,
    # and not an associate of another department
    team = {a.user.username: a for a in selectors.agents_board(user=people["alice"])}
    assert set(team) == {"alice", "bob"}
    # a supervisor sees everyone
    assert {a.user.username for a in selectors.agents_board(user=people["sam"])} == {"alice", "bob", "zed", "sam"}
    # the load columns count the held cases per capacity group, as the capacity checks do
    for name in ("alice", "bob"):
        load = agent_load(user_id=people[name].pk)
        row = team[name]
        assert (row.chats, row.calls, row.socials, row.asyncs) == (
            load["chat"],
            load["call"],
            load["social"],
            load["async"],
        )
    assert (team["alice"].chats, team["alice"].calls, team["alice"].socials, team["alice"].asyncs) == (2, 4, 2, 4)


def test_resolved_and_waiting_cases_are_not_load(db):
    people = _world(0)
    bob = people["bob"]
    CaseFactory(channel="chat", status=Case.Status.ASSIGNED, assignee=bob)
    CaseFactory(channel="chat", status=Case.Status.RESOLVED, assignee=bob)
    CaseFactory(channel="chat", status=Case.Status.NEW)
    row = next(a for a in selectors.agents_board(user=people["sam"]) if a.user_id == bob.pk)
    assert (row.chats, row.calls, row.socials, row.asyncs) == (1, 0, 0, 0)


def test_an_associate_with_no_department_still_sees_their_own_row(db):
    loner = AgentFactory(user__username="loner").user
    CaseFactory(channel="social", status=Case.Status.ASSIGNED, assignee=loner)
    rows = selectors.agents_board(user=loner)
    assert [(a.user.username, a.socials) for a in rows] == [("loner", 1)]


def test_my_cases_shows_the_most_urgent_head_and_counts_the_rest(client, db):
    # given an associate holding more cases than the board lists
    people = _world(0)
    alice = people["alice"]
    n = selectors.BOARD_MINE_ROWS + 7
    for i in range(n):
        CaseFactory(channel="email", status=Case.Status.ASSIGNED, assignee=alice, priority=4 if i else 1)
    client.force_login(alice)
    response = client.get(reverse("cases:queues"))
    # then the board lists the head in priority order, says how many more there are, and the header counts them all
    mine = response.context["mine"]
    assert len(mine) == selectors.BOARD_MINE_ROWS and mine[0].priority == 1
    assert response.context["mine_more"] == 7
    assert response.context["load"]["async"] == n
    assert "and 7 more" in response.content.decode()


def test_my_load_in_the_header_is_my_own_row_of_the_team(client, db):
    people = _world(6)
    alice = people["alice"]
    client.force_login(alice)
    response = client.get(reverse("cases:queues"))
    load = agent_load(user_id=alice.pk)
    assert response.context["load"] == load
    assert f"chats {load['chat']}/" in response.content.decode()


def test_email_and_web_load_shows_in_my_header_and_in_the_team(client, db):
    # given an associate holding two e-mails and a web-form case, and nothing in the live channels
    people = _world(0)
    alice = people["alice"]
    alice.agent.capacity_async = 7
    alice.agent.save(update_fields=["capacity_async"])
    for channel in ("email", "email", "web"):
        CaseFactory(channel=channel, status=Case.Status.ASSIGNED, assignee=alice)
    a = alice.agent
    expected = [f"0/{a.capacity_chat}", f"0/{a.capacity_call}", f"0/{a.capacity_social}", "3/7"]
    for viewer in (alice, people["sam"]):
        # when she or a supervisor opens the board
        client.force_login(viewer)
        html = client.get(reverse("cases:queues")).content.decode()
        # then the team shows that load in its own column, not hidden behind empty live-channel counts
        name = alice.get_full_name() or alice.username
        row = re.search(rf"<tr><td>{re.escape(name)} .*?</tr>", html, re.S)
        assert row and re.findall(r'<td class="num">(\d+/\d+)</td>', row.group(0)) == expected
        assert 'title="Email and web-form cases">Email</th>' in html
    # and her own header counts it against her e-mail and web capacity
    client.force_login(alice)
    assert "email &amp; web 3/7" in client.get(reverse("cases:queues")).content.decode()


def test_the_head_of_the_queue_is_in_take_next_order_and_only_my_departments(db):
    people = _world(30)
    alice = people["alice"]
    listed = selectors.queue_waiting(user=alice, limit=50)
    expected = list(
        Case.objects.filter(status=Case.Status.NEW, department__slug__in=("general", "pharmacy"))
        .order_by("priority", "sla_due_at", "queued_at", "id")
        .values_list("pk", flat=True)
    )
    assert [c.pk for c in listed] == expected
    assert len(selectors.queue_waiting(user=people["sam"], limit=7)) == 7


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewer", ["sam", "alice"])
def test_the_board_counts_can_be_answered_from_the_indexes_alone(viewer, settings):
    """A regression guard for the 1M figures (docs/BENCHMARKS.md): ``COUNT(id)`` instead of ``COUNT(*)``, or a
    column outside the index, would make these read every waiting / held case from the table again.

    Committed data, vacuumed (all pages visible, fresh statistics, as on a server with autovacuum), sequential and
    bitmap scans off: the planner then answers from an index alone wherever the index holds every column a query
    needs, because an index-only scan of an all-visible table is the cheapest plan left. 60 waiting cases, not 3: the
    associate's departments are an array (``= ANY(ARRAY(...))``, one index descent per value), and for three rows
    the planner costed those descents above a plain index scan with a filter. The roster's fixed
    statement runs with client-side binding here, so that its captured text carries its values and can be EXPLAINed
    (prepared, it is the same text with $1)."""
    settings.RH = {**settings.RH, "PREPARE_HOT_STATEMENTS": False}
    user = _world(60)[viewer]
    with CaptureQueriesContext(connection) as ctx:
        selectors.queue_board(user=user)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE cases_case, cases_department, cases_agentprofile_departments")
    plans = {}
    for q in ctx.captured_queries:
        with transaction.atomic(), connection.cursor() as cur:
            for setting in ("enable_seqscan", "enable_bitmapscan"):
                cur.execute(f"SET LOCAL {setting} = off")
            cur.execute("EXPLAIN " + q["sql"])
            plans[q["sql"]] = "\n".join(row[0] for row in cur.fetchall())
    overview = next(p for s, p in plans.items() if 'AS "waiting"' in s)
    roster = next(p for s, p in plans.items() if "AS chats" in s)
    # Which index the planner walks depends on sizes and statistics (several partial indexes can answer a count);
    # what must hold is that the counts read no case row. (The two lists are bounded by LIMIT on an id subquery;
    # at test sizes any plan is cheap, so their plans are not asserted here: bench/queue_page.py measures them.)
    only, heap = _case_scans(overview)
    assert only >= 1 and heap == 0, overview
    only, heap = _case_scans(roster)
    assert only >= 4 and heap == 0, roster  # one count per capacity group: chat, call, social, async


def _case_scans(plan: str) -> tuple[int, int]:
    """(index-only scans, scans that read table rows) of cases_case in an EXPLAIN."""
    scans = [line for line in plan.splitlines() if re.search(r"Scan\b.* on cases_case\b", line)]
    only = sum("Index Only Scan" in line for line in scans)
    return only, len(scans) - only


@pytest.mark.parametrize("partial", [False, True])
def test_a_callback_offered_to_the_associate_shows_on_their_board_only(client, partial):
    """The Call Me Now offer banner (``selectors.callback_offers_for``, one fixed statement): the associate it is
    offered to sees the phone, the customer, the subject and a link to dial, on the page and on the 3 s poll;
    another associate does not, nor does anyone once the call is over."""
    from django.utils import timezone

    from cases.models import Callback

    people = _world(3)
    alice, bob = people["alice"], people["bob"]
    case = CaseFactory(
        channel="callback", status=Case.Status.ASSIGNED, assignee=alice, subject="Parcel never came",
        customer__name="Dana Whitfield",
    )  # fmt: skip
    Callback.objects.create(
        case=case, phone="+14155550123", status=Callback.Status.OFFERED, offered_to=alice, offered_at=timezone.now()
    )
    headers = {"HX-Request": "true"} if partial else {}
    client.force_login(alice)
    html = client.get(reverse("cases:queues"), headers=headers).content.decode()
    assert "Incoming callback" in html and "+14155550123" in html
    assert "Dana Whitfield · Parcel never came" in html
    assert reverse("cases:workspace", args=[case.reference]) in html and "Open &amp; dial" in html

    client.force_login(bob)
    assert "+14155550123" not in client.get(reverse("cases:queues"), headers=headers).content.decode()

    Callback.objects.filter(case=case).update(status=Callback.Status.DIALING)
    client.force_login(alice)
    html = client.get(reverse("cases:queues"), headers=headers).content.decode()
    assert "On a call" in html and "+14155550123" in html and "Open &amp; dial" not in html

    Callback.objects.filter(case=case).update(status=Callback.Status.CONNECTED)
    assert "+14155550123" not in client.get(reverse("cases:queues"), headers=headers).content.decode()


def test_the_roster_reads_only_the_users_display_fields():
    """The roster's users are loaded with their names only: no password hash or e-mail travels to a board render."""
    people = _world(3)
    roster = selectors.agents_board(user=people["sam"])
    assert {a.user.username for a in roster} == {"alice", "bob", "zed", "sam"}
    assert all(a.user.get_deferred_fields() >= {"password", "email"} for a in roster)
