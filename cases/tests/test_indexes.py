"""No table of ours keeps an index another index already makes redundant: every write maintains every index, and the
claim's UPDATE of a case and its event's INSERT are the hottest writes the product has."""

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

OURS = ("cases", "customers", "escalations")

# Every plain (non-partial, non-expression) btree index of a table, with its keys in order: column and operator
# class (a ``varchar_pattern_ops`` index for LIKE is not a duplicate of the plain one on the same column).
_INDEXES_SQL = """
SELECT t.relname, i.relname, ARRAY(
    SELECT k::text || ' ' || c::text FROM unnest(ix.indkey::int2[], ix.indclass::oid[]) WITH ORDINALITY AS u (k, c, n)
    ORDER BY n
), ix.indisunique
FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_am am ON am.oid = i.relam
WHERE t.relname = ANY(%s) AND am.amname = 'btree' AND ix.indpred IS NULL AND ix.indexprs IS NULL
"""


def _redundant() -> list[str]:
    tables = [m._meta.db_table for app in OURS for m in apps.get_app_config(app).get_models()]  # no M2M tables
    with connection.cursor() as cursor:
        cursor.execute(_INDEXES_SQL, [tables])
        rows = cursor.fetchall()
    found = []
    for table, name, columns, unique in rows:
        if unique:
            continue  # a unique index is a constraint, not only a lookup path
        for other_table, other, other_columns, _ in rows:
            if other_table == table and other != name and list(other_columns[: len(columns)]) == list(columns):
                if len(other_columns) > len(columns) or other < name:
                    found.append(f"{table}.{name} (a prefix of {other})")
                    break
    return sorted(found)


def test_no_index_of_ours_is_a_prefix_of_another():
    # given the migrated schema; then no plain index of our tables repeats the leading columns of another one
    # (Django gives each foreign key its own index unless told ``db_index=False``; a composite index that leads
    # with the same column serves the lookups and the foreign-key checks just as well)
    # (the auto-created table of AgentProfile.departments is Django's own and not looked at)
    assert _redundant() == []


def test_every_foreign_key_of_ours_leads_an_index():
    # given the migrated schema; then every foreign-key column of our tables is the first key of some index (its
    # own, or the composite that replaced it): deleting a customer, a case or a user never scans the referencing table
    tables = {m._meta.db_table: m for app in OURS for m in apps.get_app_config(app).get_models()}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname, a.attname FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ix.indkey[0]"
            " WHERE t.relname = ANY(%s) AND ix.indpred IS NULL",  # a partial index does not serve every row's check
            [list(tables)],
        )
        leading = set(cursor.fetchall())
    foreign_keys = {
        (table, field.column)
        for table, model in tables.items()
        for field in model._meta.local_fields
        if field.is_relation and field.many_to_one
    }
    assert foreign_keys, "no foreign keys found"
    assert sorted(foreign_keys - leading) == []
