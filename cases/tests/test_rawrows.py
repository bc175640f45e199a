"""cases/rawrows.py: the values its hand-written INSERT/UPDATE send are the ones Django's ``save()`` would send, and
its unwrapped prepared cursor keeps what Django's cursor wrapper guarantees (error translation, the broken
transaction check, query logging and execute wrappers when someone is watching)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils.functional import lazy

from cases import rawrows
from cases.models import AgentProfile, Case, CaseEvent, Priority, SlaPolicy
from cases.tests.factories import CaseFactory, waiting_case

pytestmark = pytest.mark.django_db

AWARE = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SAMPLES = [
    None,
    "",
    "text",
    Case.Status.ASSIGNED,  # a TextChoices member (a str subclass)
    lazy(lambda: "lazy text", str)(),
    0,
    7,
    2**40,
    True,
    False,
    Priority.HIGH,  # an IntegerChoices member
    "12",
    AWARE,
    AWARE.astimezone(ZoneInfo("America/New_York")),
    datetime(2026, 11, 24, 10, 0),  # naive: Django warns and makes it aware
    Decimal("12.50"),
    {"via": "take_next"},
    [],
    timedelta(minutes=5),
]


def _same(a, b):
    return type(a) is type(b) and a == b and getattr(a, "tzinfo", None) == getattr(b, "tzinfo", None)


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
@pytest.mark.parametrize("model", [Case, CaseEvent, SlaPolicy, AgentProfile])
def test_each_fields_value_is_prepared_as_djangos_get_db_prep_save_prepares_it(model):
    # given every concrete field of the models take-next writes and reads, and values of every kind
    for field in model._meta.concrete_fields:
        prep = rawrows._db_prep(field, connection)
        for value in SAMPLES:
            # when a value is prepared by rawrows and by Django
            try:
                expected = field.get_db_prep_save(value, connection)
            except Exception as exc:  # then rawrows raises the same
                with pytest.raises(type(exc)):
                    prep(value)
                continue
            got = prep(value)
            # then they are equal, of the same type (psycopg's Int2/Int4/Int8 wrappers included)
            if hasattr(expected, "obj"):  # Jsonb: compare what it wraps
                assert type(got) is type(expected) and got.obj == expected.obj, (field, value)
            else:
                assert _same(got, expected), (field, value, got, expected)


def test_pre_save_reads_the_attribute_or_stamps_auto_now_as_django_does():
    # given a case in memory
    case = CaseFactory.build(pk=1, queued_at=AWARE)
    savers = rawrows._savers(Case, [Case._meta.get_field(n) for n in ("queued_at", "updated_at")], connection, False)
    # when its values are read for an UPDATE
    before = datetime.now(UTC)
    queued, updated = (prep(read(case)) for read, prep in savers)
    # then a plain field is read as it is, auto_now is stamped now and set on the instance
    assert queued == AWARE
    assert updated >= before and case.updated_at == updated


def test_the_unwrapped_cursor_translates_errors_to_djangos(agent):
    # given nobody logs queries or wraps execute
    assert not connection.queries_logged and not connection.execute_wrappers
    # when a prepared statement breaks a constraint
    with pytest.raises(IntegrityError), transaction.atomic(), rawrows.cursor() as cursor:
        assert not hasattr(cursor, "db")  # psycopg's cursor itself, not Django's wrapper
        cursor.execute("INSERT INTO cases_agentprofile (user_id) VALUES (%s)", [agent.pk])
    # then it comes out as Django's IntegrityError (a DatabaseError), as through Django's cursor
    assert issubclass(IntegrityError, DatabaseError)


def test_the_unwrapped_cursor_refuses_to_run_in_a_transaction_that_must_roll_back():
    with transaction.atomic():
        transaction.set_rollback(True)
        with pytest.raises(TransactionManagementError), rawrows.cursor() as cursor:
            cursor.execute("SELECT 1")


def test_the_cursor_is_wrapped_while_queries_are_logged_or_wrapped():
    # given queries are being captured
    with CaptureQueriesContext(connection) as ctx, rawrows.cursor() as cursor:
        cursor.execute("SELECT %s", [1])
        assert cursor.fetchone() == (1,)
    assert [q["sql"] for q in ctx.captured_queries] == ["SELECT $1"]  # server-side binding
    # and given an execute wrapper
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper), rawrows.cursor() as cursor:
        cursor.execute("SELECT %s", [2])
        assert cursor.fetchall() == [(2,)]
    assert seen == ["SELECT %s"]


def _wire():
    return connections[DEFAULT_DB_ALIAS].__dict__.get("_rawrows_wire")  # the wrapper, not the thread-local proxy


def _ours_prepared():
    """The statements the wire prepared on this connection, as psycopg's table of prepared statements lists them."""
    return {k: v for k, v in connection.connection._prepared._names.items() if k[0] == "rawrows"}


def _server_prepared():
    with connection.cursor() as c:
        c.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE '\\_rh\\_%%'")
        return {row[0] for row in c.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_take_next_prepares_its_statements_once_per_connection(agent, department):
    # given three waiting chats and a first claim (nothing observes the statements)
    from cases.services.queue import case_take_next

    for _ in range(3):
        waiting_case(department=department)
    first = case_take_next(user=agent)
    wire, prepared = _wire(), _ours_prepared()
    assert len(prepared) == 2  # the profile lock and the claim (BEGIN and COMMIT are not prepared)
    assert {name.decode() for name in prepared.values()} <= _server_prepared()
    # when the associate claims again
    second = case_take_next(user=agent)
    # then the same prepared statements ran on the same wire
    assert _wire() is wire and _ours_prepared() == prepared
    # and after the connection is closed, a new one gets a new wire and prepares again
    connection.close()
    third = case_take_next(user=agent)
    assert _wire() is not wire and len(_ours_prepared()) == 2
    assert len({first.pk, second.pk, third.pk}) == 3
    assert Case.objects.filter(assignee=agent, status=Case.Status.ASSIGNED).count() == 3


@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_batch_is_psycopgs_and_the_next_batches_run():
    # given statements sent together that fail on the server
    with pytest.raises(psycopg.errors.DivisionByZero), transaction.atomic():
        rawrows.together([("SELECT 1", []), ("SELECT 1 / 0", [])])
    # then the rollback deallocated everything psycopg lists (DEALLOCATE ALL), ours included
    assert _ours_prepared() == {} and _server_prepared() == set()
    # and the same statements, fixed, are prepared again and run
    with transaction.atomic():
        assert rawrows.together([("SELECT 1", []), ("SELECT 2 / 1", [])]) == [[(1,)], [(2,)]]
    assert len(_ours_prepared()) == 2


@pytest.mark.django_db(transaction=True)
def test_a_statement_skipped_after_an_error_is_prepared_by_the_next_batch():
    # given a batch whose first statement fails inside the caller's transaction (no rollback by psycopg yet)
    with pytest.raises(psycopg.errors.DivisionByZero), transaction.atomic():
        try:
            rawrows.together([("SELECT 1 / %s", [0]), ("SELECT %s::int + 1", [2])])
        finally:
            # then the server skipped the second statement's PREPARE: it is not listed as prepared
            assert [k[1] for k in _ours_prepared()] == ["SELECT 1 / %s"]
    # and the next batch prepares and runs it
    with transaction.atomic():
        assert rawrows.together([("SELECT %s::int + 1", [2])]) == [[(3,)]]


@pytest.mark.django_db(transaction=True)
def test_a_statement_psycopg_evicts_is_prepared_again(settings):
    # given a statement of ours prepared on the connection
    with transaction.atomic():
        assert rawrows.together([("SELECT %s::int * 2", [2])]) == [[(4,)]]
    (key, name) = next(iter(_ours_prepared().items()))
    # when psycopg evicts it from its table (more statements than ``prepared_max``: DEALLOCATE name)
    raw = connection.connection
    raw._prepared._names.pop(key)
    raw.execute(b"DEALLOCATE " + name)
    # then the next batch prepares it again under a new name
    with transaction.atomic():
        assert rawrows.together([("SELECT %s::int * 2", [3])]) == [[(6,)]]
    assert list(_ours_prepared()) == [key] and _ours_prepared()[key] != name


@pytest.mark.django_db(transaction=True)
def test_a_broken_connection_in_a_batch_comes_out_as_djangos_error():
    # given a connection the server has closed
    with connection.cursor() as c:
        c.execute("SELECT 1")
    pid = connection.connection.info.backend_pid
    other = psycopg.connect(**connection.get_connection_params())
    other.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()
    # when a batch is sent on it
    with pytest.raises(OperationalError), transaction.atomic():
        rawrows.together([("SELECT 1", [])])
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_together_commits_only_a_transaction_of_its_own(agent):
    # given an outer atomic block with a nested one that opens no savepoint (the BEGIN still goes with the batch)
    with pytest.raises(RuntimeError), transaction.atomic():
        with transaction.atomic(savepoint=False):
            rawrows.together(
                [("UPDATE cases_agentprofile SET presence = 'away' WHERE user_id = %s", [agent.pk])], commit=True
            )
        raise RuntimeError("the outer block changes its mind")
    # then nothing was committed by the batch: the outer block's rollback took the change back
    assert connection.get_autocommit()
    with connection.cursor() as c:
        c.execute("SELECT presence FROM cases_agentprofile WHERE user_id = %s", [agent.pk])
        assert c.fetchone() == ("available",)
    # and in a block of its own, COMMIT goes with the batch: the block's exit finds the session idle
    with transaction.atomic():
        rawrows.together(
            [("UPDATE cases_agentprofile SET presence = 'away' WHERE user_id = %s", [agent.pk])], commit=True
        )
        assert connection.connection.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with connection.cursor() as c:
        c.execute("SELECT presence FROM cases_agentprofile WHERE user_id = %s", [agent.pk])
        assert c.fetchone() == ("away",)


def test_fetch_rows_runs_on_the_kept_cursor_and_gives_the_cursors_rows():
    # given nobody logs queries or wraps execute
    sql = "SELECT %s::int, %s::text UNION ALL SELECT 2, 'b'"
    assert rawrows.fetch_rows(sql, [1, "a"]) == [(1, "a"), (2, "b")]
    assert rawrows.fetch_rows(sql, [3, "c"], one=True) == (3, "c")
    # then it ran on the connection's kept cursor for that statement (no cursor made per call)
    raw, kept = connections[DEFAULT_DB_ALIAS]._rawrows_kept
    assert raw is connection.connection and sql in kept


def test_fetch_rows_forgets_its_kept_cursors_after_an_error_and_works_again():
    sql = "SELECT 1 / %s::int"
    assert rawrows.fetch_rows(sql, [1]) == [(1,)]
    with pytest.raises(DatabaseError), transaction.atomic():
        rawrows.fetch_rows(sql, [0])
    assert "_rawrows_kept" not in connections[DEFAULT_DB_ALIAS].__dict__
    assert rawrows.fetch_rows(sql, [1], one=True) == (1,)


def test_fetch_rows_is_seen_while_queries_are_logged(settings):
    with CaptureQueriesContext(connection) as ctx:
        assert rawrows.fetch_rows("SELECT %s::int", [5], one=True) == (5,)
    assert [q["sql"] for q in ctx.captured_queries] == ["SELECT $1::int"]
    settings.RH = {**settings.RH, "PREPARE_HOT_STATEMENTS": False}  # behind a transaction-mode pooler
    assert rawrows.fetch_rows("SELECT %s::int", [6]) == [(6,)]


def test_update_then_insert_prepares_nothing_with_prepared_statements_off(settings, agent):
    # given a deployment behind a transaction-mode pooler (a prepared statement would not follow the connection)
    settings.RH = {**settings.RH, "PREPARE_HOT_STATEMENTS": False}
    case = CaseFactory(status=Case.Status.NEW)
    with connection.cursor() as c:
        c.execute("DEALLOCATE ALL")
    # when a change and the row recording it are written together (case_transition's statement)
    case.status, case.assignee = Case.Status.ASSIGNED, agent
    event = CaseEvent(case=case, type=CaseEvent.Type.STATUS_CHANGED, actor=agent, old_value="new", new_value="assigned")
    rawrows.update_then_insert(case, {"status", "assignee"}, event)
    # then both were written, and nothing was prepared on the server
    assert event.pk and Case.objects.get(pk=case.pk).status == Case.Status.ASSIGNED
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM pg_prepared_statements")
        assert c.fetchone() == (0,)
