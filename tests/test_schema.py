"""Promises of the schema itself, checked on the migrated database."""
from __future__ import annotations

import asyncpg

FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS table_name, c.conname AS name,
       array_agg(a.attname::text ORDER BY k.n) AS columns
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.contype = 'f' AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
GROUP BY c.conrelid, c.conname
ORDER BY 1, 2
"""

# Valid, non-partial indexes with their key columns in order (an expression column has no name).
INDEXES = """
SELECT i.indrelid::regclass::text AS table_name,
       array_agg(a.attname::text ORDER BY k.n) AS columns
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
  AND i.indisvalid AND i.indpred IS NULL AND k.n <= i.indnkeyatts
GROUP BY i.indexrelid, i.indrelid
"""

# One table per case: no index, the key's columns first in either order, the key's columns
# further in, a partial index, the key's last column only INCLUDEd.
PROBE_SCHEMA = """
CREATE SCHEMA fk_probe;
CREATE TABLE fk_probe.parent (org_id bigint, id bigint, PRIMARY KEY (org_id, id));
CREATE TABLE fk_probe.no_index (org_id bigint, parent_id bigint,
    FOREIGN KEY (org_id, parent_id) REFERENCES fk_probe.parent);
CREATE TABLE fk_probe.same_order (org_id bigint, parent_id bigint, at timestamptz,
    FOREIGN KEY (org_id, parent_id) REFERENCES fk_probe.parent);
CREATE INDEX ON fk_probe.same_order (org_id, parent_id, at);
CREATE TABLE fk_probe.swapped (org_id bigint, parent_id bigint,
    FOREIGN KEY (org_id, parent_id) REFERENCES fk_probe.parent);
CREATE INDEX ON fk_probe.swapped (parent_id, org_id);
CREATE TABLE fk_probe.too_deep (org_id bigint, parent_id bigint, at timestamptz,
    FOREIGN KEY (org_id, parent_id) REFERENCES fk_probe.parent);
CREATE INDEX ON fk_probe.too_deep (org_id, at, parent_id);
CREATE TABLE fk_probe.partial (org_id bigint, parent_id bigint, open boolean,
    FOREIGN KEY (org_id, parent_id) REFERENCES fk_probe.parent);
CREATE INDEX ON fk_probe.partial (org_id, parent_id) WHERE open;
CREATE TABLE fk_probe.included (org_id bigint, parent_id bigint,
    FOREIGN KEY (org_id, parent_id) REFERENCES fk_probe.parent);
CREATE INDEX ON fk_probe.included (org_id) INCLUDE (parent_id);
"""


async def unindexed_foreign_keys(conn: asyncpg.Connection, schema: str = "public") -> list[str]:
    """Foreign keys with no index whose first N key columns are the key's N columns.

    In any order among those N: the lookup a foreign key makes (on a delete or key change of the
    row it points at) is equality on all its columns, which a b-tree answers as well from
    (org_id, author_id) as from (author_id, org_id). A partial index does not count (the
    lookup has no predicate); neither do columns further in, where the lookup would scan.
    """
    indexes: dict[str, list[list[str | None]]] = {}
    for row in await conn.fetch(INDEXES, schema):
        indexes.setdefault(row["table_name"], []).append(row["columns"])
    missing = []
    for fk in await conn.fetch(FOREIGN_KEYS, schema):
        n = len(fk["columns"])
        if not any(set(columns[:n]) == set(fk["columns"]) for columns in indexes.get(fk["table_name"], [])):
            missing.append(f"{fk['table_name']} ({', '.join(fk['columns'])}) [{fk['name']}]")
    return missing


async def test_every_foreign_key_has_an_index_leading_with_its_columns(settings):
    conn = await asyncpg.connect(settings.database_owner_url)
    try:
        missing = await unindexed_foreign_keys(conn)
    finally:
        await conn.close()
    assert not missing, ("foreign keys without an index on their columns (add one in a migration, leading "
                         "with the key's columns): " + "; ".join(missing))


async def test_the_foreign_key_check_tells_a_covering_index_from_one_that_is_not(settings):
    conn = await asyncpg.connect(settings.database_owner_url)
    probe = conn.transaction()
    await probe.start()
    try:
        await conn.execute(PROBE_SCHEMA)
        missing = await unindexed_foreign_keys(conn, "fk_probe")
    finally:
        await probe.rollback()  # the probe schema goes with it
        await conn.close()
    tables = sorted(m.split(" ")[0] for m in missing)
    assert tables == ["fk_probe.included", "fk_probe.no_index", "fk_probe.partial", "fk_probe.too_deep"]
