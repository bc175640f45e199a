"""Model instances from hand-written SQL on the hot paths (take-next's one-statement pick).

``RowLoader(Model, alias)`` gives the SELECT list of a model's concrete columns under a table alias and turns the
matching slice of a result row back into an instance with ``Model.from_db`` after the same database converters
the ORM applies (JSON fields arrive as text from Django's psycopg setup and are decoded here), so the instance is
the one ``Model.objects.get`` would have built.
"""

import functools
from datetime import datetime
from operator import attrgetter

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models


def sql_in(values) -> str:
    """The inside of an SQL ``IN (…)`` list of the code's own enum values (fixed strings of the models, never user
    input), for the fixed statements built once per process."""
    return ", ".join(f"'{v}'" for v in values)


class RowLoader:
    def __init__(self, model, alias: str, *, only: tuple[str, ...] | None = None):
        """``only``: the field names to read (the others are deferred on the instance, as with ``.only()``)."""
        self.model = model
        self.alias = alias
        fields = list(model._meta.concrete_fields)
        self.fields = [f for f in fields if f.primary_key or f.name in only] if only else fields
        self.names = [f.attname for f in self.fields]
        self.width = len(self.fields)
        self.select = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self._converters = None

    def _converters_for(self, connection):
        if self._converters is None:
            converters = []
            for i, field in enumerate(self.fields):
                col = field.get_col(self.alias)
                found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
                if found:
                    converters.append((i, col, found))
            self._converters = converters
        return self._converters

    def load(self, values, *, connection=None):
        """An instance from ``values`` (this model's columns in ``self.names`` order)."""
        connection = connection or connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
        values = list(values)
        for i, col, found in self._converters_for(connection):
            value = values[i]
            for convert in found:
                value = convert(value, col, connection)
            values[i] = value
        return self.model.from_db(connection.alias, self.names, values)


NEVER_AUTOMATICALLY = 2**31 - 1
_INSERT_SQL: dict = {}
_UPDATE_SQL: dict = {}


def _insert_entry(model):
    entry = _INSERT_SQL.get(model)
    if entry is None:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        columns = ", ".join(f'"{f.column}"' for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks}) RETURNING "{meta.pk.column}"'
        entry = _INSERT_SQL[model] = (fields, sql)
    return entry


def _update_entry(model, names):
    key = (model, tuple(sorted(names)))
    entry = _UPDATE_SQL.get(key)
    if entry is None:
        meta = model._meta
        fields = [meta.get_field(name) for name in key[1]]
        sets = ", ".join(f'"{f.column}" = %s' for f in fields)
        entry = _UPDATE_SQL[key] = (fields, f'UPDATE "{meta.db_table}" SET {sets} WHERE "{meta.pk.column}" = %s')
    return entry


def _insert_values(instance, fields, connection):
    return [prep(read(instance)) for read, prep in _savers(type(instance), fields, connection, True)]


def _update_values(instance, fields, connection):
    values = [prep(read(instance)) for read, prep in _savers(type(instance), fields, connection, False)]
    values.append(instance.pk)
    return values


_SAVERS: dict = {}


def _savers(model, fields, connection, add: bool):
    """``(read, prepare)`` of each field: what ``Model.save()`` runs for a column,
    ``field.get_db_prep_save(field.pre_save(instance, add), connection)``, as two functions built once per
    (model, fields, connection, add). ``read`` is the attribute read itself where the field's ``pre_save`` is
    Django's plain one (``auto_now`` and other ``pre_save`` logic: the field's own method); ``prepare`` is
    ``_db_prep``."""
    key = (model, tuple(fields), connection.alias, add)
    savers = _SAVERS.get(key)
    if savers is None:
        savers = _SAVERS[key] = [(_pre_save(f, add), _db_prep(f, connection)) for f in fields]
    return savers


def _pre_save(field, add: bool):
    plain = type(field).pre_save is models.Field.pre_save or (
        isinstance(field, models.DateField)
        and type(field).pre_save in (models.DateField.pre_save, models.DateTimeField.pre_save)
        and not field.auto_now
        and not field.auto_now_add
    )
    return attrgetter(field.attname) if plain else functools.partial(field.pre_save, add=add)


_INTEGER_FIELDS = (
    "IntegerField",
    "SmallIntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
)
_AUTO_FIELDS = ("AutoField", "SmallAutoField", "BigAutoField")


def _db_prep(field, connection):
    """``field.get_db_prep_save(value, connection)`` as a function of the value, with the same result: for the
    field classes below (exactly those classes, not subclasses that could override a step) and the values they pass
    through unchanged or only wrap — None, ``str`` for text, ``bool``, ``int`` (wrapped as the field's integer
    type, as ``connection.ops.adapt_integerfield_value`` does), aware datetimes — the steps of Django's
    ``get_db_prep_save`` → ``get_db_prep_value`` → ``get_prep_value`` → ``to_python`` are skipped because each
    returns the value as it is; any other value (a naive datetime, a lazy string, an expression, …) and any other
    field go through ``field.get_db_prep_save`` itself. The backend's own adaptation step is still called.
    Checked against Django field by field in ``cases/tests/test_rawrows.py``."""
    slow = functools.partial(_slow_prep, field, connection)
    kind = type(field)
    if kind is models.ForeignKey:
        target = _db_prep(field.target_field, connection)
        return lambda value: None if value is None else (target(value) if isinstance(value, int) else slow(value))
    if kind in (models.CharField, models.TextField):
        return lambda value: value if value is None or isinstance(value, str) else slow(value)
    if kind is models.BooleanField:
        return lambda value: value if value is None or value is True or value is False else slow(value)
    if kind is models.DateTimeField:
        adapt = connection.ops.adapt_datetimefield_value
        return lambda value: (
            adapt(value)
            if value is None or (isinstance(value, datetime) and value.utcoffset() is not None)
            else slow(value)
        )
    name = kind.__name__
    if kind is getattr(models, name, None) and name in _INTEGER_FIELDS:
        adapt = connection.ops.adapt_integerfield_value
        internal = field.get_internal_type()
        return lambda value: (
            adapt(int(value), internal) if isinstance(value, int) else (None if value is None else slow(value))
        )
    if kind is getattr(models, name, None) and name in _AUTO_FIELDS:
        validate = connection.ops.validate_autopk_value
        return lambda value: validate(int(value)) if isinstance(value, int) else slow(value)
    return slow


def _slow_prep(field, connection, value):
    return field.get_db_prep_save(value, connection)


def _inserted(instance, pk, connection):
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def insert(instance, *, connection=None):
    """``INSERT … RETURNING pk`` of a new instance: the row ``instance.save()`` would write (defaults and
    ``auto_now_add`` applied by ``pre_save``, values prepared by each field), without compiling an ORM query.
    For models with a database-generated primary key and no save() logic beyond Django's (no signals needed)."""
    connection = connection or connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    if connection.vendor != "postgresql":
        instance.save(force_insert=True, using=connection.alias)
        return instance
    fields, sql = _insert_entry(type(instance))
    with cursor(connection=connection) as c:
        c.execute(sql, _insert_values(instance, fields, connection))
        pk = c.fetchone()[0]
    return _inserted(instance, pk, connection)


def update(instance, names, *, connection=None) -> None:
    """``UPDATE … SET <names> WHERE pk`` from the instance: what ``instance.save(update_fields=names)`` writes
    (``auto_now`` fields listed in ``names`` are stamped by ``pre_save``), without compiling an ORM query."""
    connection = connection or connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    if connection.vendor != "postgresql":
        instance.save(update_fields=names, using=connection.alias)
        return
    fields, sql = _update_entry(type(instance), names)
    with cursor(connection=connection) as c:
        c.execute(sql, _update_values(instance, fields, connection))


def update_then_insert(instance, names, new, *, connection=None):
    """``update(instance, names)`` and ``insert(new)`` in one statement (``WITH u AS (UPDATE …) INSERT …``): one
    round trip for a change and the row that records it. Returns ``new`` with its primary key."""
    connection = connection or connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    if connection.vendor != "postgresql":
        update(instance, names, connection=connection)
        return insert(new, connection=connection)
    update_fields, update_sql = _update_entry(type(instance), names)
    insert_fields, insert_sql = _insert_entry(type(new))
    values = _update_values(instance, update_fields, connection) + _insert_values(new, insert_fields, connection)
    sql = _combined(update_sql, insert_sql)
    kept = _kept_cursor(connection, sql)
    if kept is None:
        with cursor(connection=connection) as c:
            c.execute(sql, values)
            pk = c.fetchone()[0]
        return _inserted(new, pk, connection)
    try:
        kept.execute(_encoded(sql), values)
        pk = kept.fetchone()[0]
    except BaseException:
        _forget_kept(connection)
        raise
    return _inserted(new, pk, connection)


_COMBINED: dict = {}


def _combined(update_sql: str, insert_sql: str) -> str:
    key = (update_sql, insert_sql)
    sql = _COMBINED.get(key)
    if sql is None:
        sql = _COMBINED[key] = f"WITH changed AS ({update_sql}) {insert_sql}"
    return sql


@functools.cache
def _psycopg():
    """psycopg, imported on first use (the embedded SQLite setup runs without it)."""
    import psycopg
    import psycopg.pq

    return psycopg


def together(statements, *, connection=None, commit: bool = False) -> list[list[tuple]]:
    """Run fixed ``(sql, params)`` statements back to back in ONE round trip and return each one's rows.

    libpq's pipeline mode sends them without waiting for each result (each still prepared like ``cursor()``'s): as
    one batch on the wire (``_Wire``) when nobody observes the statements, else through psycopg's pipeline and
    cursors that query logs and execute wrappers see. The server runs them one after the other as usual, each with its own snapshot (READ COMMITTED), so a statement
    that follows a lock sees everything committed before the lock was granted — exactly as if they were sent one by
    one. When the enclosing atomic block has not opened its transaction yet, its BEGIN goes in the same round trip:
    psycopg would otherwise send BEGIN on its own and wait for the answer first. To stop it, psycopg's autocommit
    flag is set while the session is idle (the only moment psycopg allows it) and BEGIN is sent here; the session
    is then in that explicit transaction, which Django's atomic block commits or rolls back as usual (psycopg's
    ``commit()``/``rollback()`` act on the session's transaction status, and the block's exit sets autocommit back
    on as it always does). With ``RH["PREPARE_HOT_STATEMENTS"]`` off (transaction-mode poolers) or on SQLite the
    statements are sent one by one through ordinary cursors.

    ``commit=True``: the statements are all the enclosing atomic block does in the database. When that block is
    the outermost one, with no savepoint, and its BEGIN goes in this batch (the transaction is its own), the COMMIT
    goes in the same batch on the wire (``_Wire``); the block's exit then finds the session idle (psycopg's
    ``commit()`` does nothing) and runs its on-commit callbacks as usual. A statement that fails makes the server
    skip the rest, COMMIT included, and the block rolls back as always. Otherwise the flag is ignored and the block
    commits as always. Such an own transaction also plans its prepared statements once per connection: a ``SET
    LOCAL plan_cache_mode`` after its BEGIN (``_GENERIC_PLANS``) keeps the plan cache from planning them again on
    every run."""
    connection = connection or connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    if not settings.RH.get("PREPARE_HOT_STATEMENTS", True) or connection.vendor != "postgresql":
        out = []
        for sql, params in statements:
            with connection.cursor() as c:
                c.execute(sql, params)
                out.append(c.fetchall())
        return out
    psycopg = _psycopg()
    TransactionStatus, PipelineStatus = psycopg.pq.TransactionStatus, psycopg.pq.PipelineStatus
    connection.ensure_connection()
    raw = connection.connection
    begin = (
        connection.in_atomic_block
        and not raw.autocommit
        and raw.pgconn.transaction_status == TransactionStatus.IDLE
        and raw.pgconn.pipeline_status == PipelineStatus.OFF
    )
    own = begin and commit and len(connection.atomic_blocks) == 1 and not connection.savepoint_ids
    head = [_BEGIN, _GENERIC_PLANS] if own else [_BEGIN] if begin else []
    wire = _wire(connection)
    if wire is not None:  # nobody observes: one batch on the wire (``_Wire``)
        try:
            if begin:
                raw.autocommit = True
            batch = [*((command, None) for command in head), *statements]
            if own:
                batch.append((_COMMIT, None))
            rows = wire.run(batch)
            return rows[len(head) : len(head) + len(statements)]
        except BaseException:
            if begin and raw.pgconn.transaction_status == TransactionStatus.IDLE:
                raw.autocommit = False  # BEGIN never ran: give the atomic block back the state it set
            raise
    cursors = [cursor(connection=connection) for _ in statements]
    begin_cursor = psycopg.Cursor(raw) if begin else None
    try:
        if begin:
            raw.autocommit = True
        with raw.pipeline():
            for command in head:
                begin_cursor.execute(command)
            for c, (sql, params) in zip(cursors, statements, strict=True):
                c.execute(sql, params)
        return [c.fetchall() for c in cursors]
    except BaseException:
        if begin and raw.pgconn.transaction_status == TransactionStatus.IDLE:
            raw.autocommit = False  # BEGIN never ran: give the atomic block back the state it set
        raise
    finally:
        for c in cursors:
            c.close()


_BEGIN = b"BEGIN"
_COMMIT = b"COMMIT"
# A batch's own transaction plans its prepared statements once per connection, whatever the plan cache would
# choose (``together``). PostgreSQL's plan cache weighs, from the sixth run of a prepared statement on, a generic
# plan costed for average parameter values against the custom plans made so far, and keeps making a custom plan
# — planning the statement again on every run — while the generic one looks dearer. Take-next's claim reads 15
# relations: planning it takes ≈ 0.7 ms, more than running it, and its generic plan is costed for the average
# associate's held cases (838–882 on the 1M bench data, so the generic plan looked five times dearer than a custom
# one for an associate holding few); which way the comparison went moved with the table's statistics from one run to
# the next (bench/take_next.py at 16 associates: 826 claims/s planning every claim, 1,306 with the plan kept). The
# generic plans are the ones the statements were written for (the index each one reads does not depend on the
# values). SET LOCAL: gone at the batch's COMMIT; inside a caller's transaction the plan cache decides as before.
_GENERIC_PLANS = b"SET LOCAL plan_cache_mode = force_generic_plan"
_ENCODED: dict = {}


def _encoded(sql: str) -> bytes:
    """The statement as bytes, one object per statement: psycopg then neither encodes nor hashes it again on every
    execution (its parsed-query and prepared-statement caches are keyed on those bytes)."""
    query = _ENCODED.get(sql)
    if query is None:
        query = _ENCODED[sql] = sql.encode()
    return query


def _wire(connection):
    """The connection's ``_Wire`` (made on first use; a new psycopg connection gets a new one). None while queries
    are logged or an execute wrapper is installed: the caller then uses cursors, which they see."""
    if connection.queries_logged or connection.execute_wrappers:
        return None
    raw = _prepared_raw(connection)
    wire = connection.__dict__.get("_rawrows_wire")
    if wire is None or wire.raw is not raw:
        connection.validate_thread_sharing()
        wire = connection._rawrows_wire = _Wire(raw, connection)
    return wire


class _Wire:
    """Fixed statements sent as one batch straight through libpq's pipeline mode, for take-next's claim (one round trip).

    psycopg's pipeline (``Connection.pipeline()``) waits for the socket and flushes after every statement it
    queues, then sends a Sync and a Flush request of their own: nine packets, sixteen ``poll`` calls and a
    cursor's result machinery a claim, each packet waking the server's backend. Here every message of the batch
    (BEGIN, each prepared statement's Bind/Execute, COMMIT, one Sync) is queued in libpq's output buffer and
    flushed with one ``send``; the answers are read until the Sync's. The statements are the same (prepared once
    per connection under names of their own, kept in psycopg's table of prepared statements), each still run by the server after
    the one before it with its own snapshot; parameters are dumped and rows loaded by psycopg's own ``PostgresQuery``
    and ``Transformer`` with the connection's adapters (Django's loaders included), as a cursor does. A statement's
    error comes out as psycopg's error class, as from psycopg's pipeline; the statements after it are skipped by
    the server (the pipeline is aborted up to the Sync) and the connection is left out of pipeline mode."""

    def __init__(self, raw, db):
        import select

        from psycopg._queries import PostgresQuery
        from psycopg.adapt import Transformer

        self.raw, self.db = raw, db
        self.pgconn = raw.pgconn
        self._query = lambda: PostgresQuery(Transformer(raw))
        self._queries: dict = {}  # sql -> PostgresQuery (its Transformer keeps the dumpers and loaders found)
        # The statements prepared on the server are registered in psycopg's own table of them (``_prepared``),
        # under keys of their own: psycopg deallocates everything it lists on every ROLLBACK (DEALLOCATE ALL) and
        # evicts the oldest past ``prepared_max`` (DEALLOCATE name), and a statement gone from the table is
        # prepared again under a new name with the next batch.
        self._prepared = raw._prepared._names
        self._count = 0
        self._poll = select.poll()
        self._poll.register(self.pgconn.socket, select.POLLIN)
        self._select = select.select

    def run(self, statements) -> list:
        """Run ``(sql, params)`` statements (``params`` None: a fixed command sent as it is, BEGIN or COMMIT) in
        one round trip; each one's rows (None for a command)."""
        pq = _psycopg().pq
        pgconn = self.pgconn
        # Everything is dumped before anything is queued: an adaptation error leaves nothing half sent.
        batch = []
        for sql, params in statements:
            if params is None:
                batch.append((None, sql, None, None))
                continue
            pgq = self._queries.get(sql)
            if pgq is None:
                pgq = self._query()
                pgq.convert(_encoded(sql), params)
                self._queries[sql] = pgq
            else:
                pgq.dump(params)
            key = ("rawrows", sql, pgq.types)
            name = self._prepared.get(key)
            prepare = name is None
            if prepare:
                self._count += 1
                name = b"_rh_%d" % self._count  # never reused, even when its PREPARE was skipped by an error
            batch.append((pgq, name, key if prepare else None, (pgq.params, pgq.formats)))
        ok = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)
        db = self.db
        db.validate_no_broken_transaction()
        with self.raw.lock, db.wrap_database_errors:  # the connection's own failures come out as Django's
            pgconn.enter_pipeline_mode()
            try:
                for pgq, name, prepare, sent in batch:
                    if pgq is None:
                        pgconn.send_query_params(name, None)
                        continue
                    if prepare is not None:
                        pgconn.send_prepare(name, pgq.query, param_types=pgq.types)
                    pgconn.send_query_prepared(name, sent[0], param_formats=sent[1], result_format=pq.Format.TEXT)
                pgconn.pipeline_sync()
                self._flush()
                results = self._collect()
            except BaseException:
                try:
                    pgconn.exit_pipeline_mode()
                except Exception:  # results left unread: the original error is the one to raise
                    pass
                raise
            pgconn.exit_pipeline_mode()
        out, failed, first, i = [], False, None, 0
        for pgq, name, prepare, _sent in batch:
            for step in ("prepare", "run") if prepare is not None else ("run",):
                res = results[i][-1] if results[i] else None
                i += 1
                if res is None or res.status not in ok:
                    if not failed:
                        failed, first = True, res
                    if step == "run":
                        out.append(None)
                elif step == "prepare":
                    self._prepared[prepare] = name
                elif pgq is None:
                    out.append(None)
                else:
                    tx = pgq._tx
                    tx.set_pgresult(res)
                    out.append(tx.load_rows(0, res.ntuples, tuple))
        if failed:  # the first statement that failed (the server skipped the ones after it)
            errors = _psycopg().errors
            if first is not None and first.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(first, encoding=pgconn._encoding)
            raise errors.InternalError("no result from the batch's statement")
        return out

    def _flush(self) -> None:
        pgconn = self.pgconn
        while pgconn.flush():  # not all sent yet (the socket's buffer is full): wait until it can take more
            readable, _, _ = self._select([pgconn.socket], [pgconn.socket], [])
            if readable:
                pgconn.consume_input()

    def _collect(self) -> list[list]:
        """Every statement's results up to the Sync's, one list per statement (PREPAREs included)."""
        pgconn = self.pgconn
        sync = _psycopg().pq.ExecStatus.PIPELINE_SYNC
        out, current = [], []
        while True:
            while pgconn.is_busy():
                self._poll.poll()
                pgconn.consume_input()
            res = pgconn.get_result()
            if res is None:
                out.append(current)
                current = []
            elif res.status == sync:
                return out
            else:
                current.append(res)


def _kept_cursor(connection, key):
    """The connection's own cursor for one fixed statement, kept open from one call to the next (a cursor created
    for every statement was a good part of each claim's Python: psycopg sets up its adapters and looks up the
    dumpers and loaders of every parameter and column again): a prepared one with the wrapper's checks
    (``_bare_cursor_class``). None while queries are logged or an execute wrapper is installed: the caller then uses
    ``cursor()``'s, which they see. Forgotten with the connection (a new psycopg connection gets new cursors) and
    after any error (``_forget_kept``). None as well with ``RH["PREPARE_HOT_STATEMENTS"]`` off (transaction-mode
    poolers): the caller's ``cursor()`` is then the ordinary one, which prepares nothing."""
    if connection.queries_logged or connection.execute_wrappers or not settings.RH.get("PREPARE_HOT_STATEMENTS", True):
        return None
    raw = _prepared_raw(connection)
    kept = connection.__dict__.get("_rawrows_kept")
    if kept is None or kept[0] is not raw:
        connection.validate_thread_sharing()
        kept = connection._rawrows_kept = (raw, {})
    c = kept[1].get(key)
    if c is None or c.closed:
        c = kept[1][key] = _bare_cursor_class()(raw, connection)
    return c


def fetch_rows(sql: str, params, *, connection=None, one: bool = False):
    """Run one fixed statement (``cursor()``'s: prepared on PostgreSQL) and return its rows (``one``: its first
    row, or None). On PostgreSQL, while nothing observes the statements, it runs on the connection's kept cursor for
    that statement with its text as one bytes object (``_kept_cursor``, ``_encoded``): no cursor set up, no query
    text encoded and parsed again per call (psycopg caches the parsing of statements up to 4 KB only). The page's
    hot reads use it: the signed-in user, the gate, the workspace statement."""
    connection = connection or connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    kept = _kept_cursor(connection, sql) if connection.vendor == "postgresql" else None
    if kept is None:
        with cursor(connection=connection) as c:
            c.execute(sql, params)
            return c.fetchone() if one else c.fetchall()
    try:
        kept.execute(_encoded(sql), params)
        return kept.fetchone() if one else kept.fetchall()
    except BaseException:
        _forget_kept(connection)
        raise


def _forget_kept(connection) -> None:
    kept = connection.__dict__.pop("_rawrows_kept", None)
    if kept is not None:
        for c in kept[1].values():
            c.close()


def _prepared_raw(connection):
    """The open psycopg connection, able to prepare statements on request (``prepare=True``)."""
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django connects with automatic preparation off (None), which also refuses prepare=True. A threshold no
        # statement reaches keeps every other statement unprepared (Django's cursors bind client-side and never
        # prepare anyway) while prepare=True prepares ours.
        raw.prepare_threshold = NEVER_AUTOMATICALLY
    return raw


def cursor(*, connection=None):
    """A cursor for the hot path's fixed statements: server-side binding with ``prepare=True`` (parsed and planned
    once per connection, then only bound and executed). While queries are logged (DEBUG, CaptureQueriesContext) or
    an execute wrapper is installed it is wrapped like any Django cursor, so they see it; otherwise it is psycopg's
    cursor with the wrapper's checks and error translation built in (``_bare_cursor_class``). Django leaves prepared statements off by default for transaction-mode
    poolers; ``RH["PREPARE_HOT_STATEMENTS"] = False`` falls back to the ordinary cursor."""
    connection = connection or connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    if not settings.RH.get("PREPARE_HOT_STATEMENTS", True) or connection.vendor != "postgresql":
        return connection.cursor()
    raw = _prepared_raw(connection)
    if connection.queries_logged or connection.execute_wrappers:  # observed: through Django's cursor wrapper
        prepared = _prepared_cursor_class()(raw)
        prepared.log_queries = connection.queries_logged
        return connection._prepare_cursor(prepared)
    # Nobody observes the statements (no query log, no execute wrapper): the wrapper's remaining work is done here
    # with less Python in between — the thread check, the broken-transaction check and Django's error translation.
    connection.validate_thread_sharing()
    return _bare_cursor_class()(raw, connection)


@functools.cache
def _prepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        log_queries = False

        def execute(self, query, params=None, *, prepare=True, binary=None):
            result = super().execute(query, params, prepare=prepare, binary=binary)
            if self.log_queries and self._query is None:
                # psycopg leaves ``_query`` unset when it runs an already prepared statement; Django's query log
                # (CaptureQueriesContext, DEBUG) reads the statement text from it.
                self._query = self._convert_query(query, params)
            return result

    return PreparedCursor


@functools.cache
def _bare_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class BareCursor(ServerBindingCursor):
        """A prepared-statement cursor doing what Django's ``CursorWrapper`` does when no query is logged and no
        execute wrapper is installed: ``execute`` refuses to run in a transaction that must roll back, and psycopg's
        errors from ``execute`` and the fetches come out as Django's (``connection.wrap_database_errors``)."""

        def __init__(self, raw, db):
            super().__init__(raw)
            self._db = db

        def execute(self, query, params=None, *, prepare=True, binary=None):
            db = self._db
            db.validate_no_broken_transaction()
            with db.wrap_database_errors:
                return super().execute(query, params, prepare=prepare, binary=binary)

        def fetchone(self):
            with self._db.wrap_database_errors:
                return super().fetchone()

        def fetchmany(self, size=0):
            with self._db.wrap_database_errors:
                return super().fetchmany(size)

        def fetchall(self):
            with self._db.wrap_database_errors:
                return super().fetchall()

    return BareCursor


class CompiledQuery:
    """A QuerySet's SQL, compiled by the ORM once, executed again with new values for some of its parameters; each
    row becomes the model instance iterating the QuerySet builds (``select_related`` objects included, through
    Django's own ``RelatedPopulator``).

    ``slots`` names the parameters that change: ``{name: sentinel}``, the QuerySet having been built with each
    sentinel (a value no real query carries) where the real value goes; compiling finds where the sentinels landed
    in the parameter list. The QuerySet is the caller's own (a gate's rule stays written once, in its QuerySet); the
    ORM compiled it, on every call, for ~1 ms on the workspace's six-table ``select_related`` (docs/BENCHMARKS.md,
    session 4). Use :func:`compiled` to keep one per connection."""

    def __init__(self, queryset, slots: dict, connection):
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        params = list(params)
        self.positions = {}
        for name, sentinel in slots.items():
            found = [i for i, p in enumerate(params) if type(p) is type(sentinel) and p == sentinel]
            if not found:
                raise ValueError(f"{name}: its sentinel is not among the compiled parameters")
            self.positions[name] = found
        self.sql, self.params = sql, params
        self.compiler = compiler
        from django.db.models.query import get_related_populators

        select, klass_info = compiler.select, compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, connection.alias)
        self.alias = connection.alias
        # What compiler.results_iter() works out on every call: each column's database converters (JSON decoding,
        # ...), found once here.
        fields = [s[0] for s in select[0 : compiler.col_count]]
        self.converters = compiler.get_converters(fields)
        self.plain = not compiler.has_composite_fields(fields)

    def fetch(self, values: dict, *, connection) -> list:
        """The instances for these slot values (already what the ORM would send: prepared by the field)."""
        params = list(self.params)
        for name, where in self.positions.items():
            for i in where:
                params[i] = values[name]
        rows = fetch_rows(self.sql, params, connection=connection)
        if not self.plain:
            rows = self.compiler.results_iter(results=[rows])
        elif self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        out = []
        for row in rows:
            obj = self.model.from_db(self.alias, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            out.append(obj)
        return out


def compiled(key, build, *, connection=None) -> CompiledQuery:
    """The ``CompiledQuery`` of ``build()`` (returning ``(queryset, slots)``) for ``key``, compiled once per
    connection (the thread's ``DatabaseWrapper``, which lives as long as its thread) and kept on it."""
    connection = connection or connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    cache = connection.__dict__.setdefault("_rh_compiled", {})
    entry = cache.get(key)
    if entry is None:
        queryset, slots = build()
        entry = cache[key] = CompiledQuery(queryset, slots, connection)
    return entry
