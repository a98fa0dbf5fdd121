"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL: a model
change without its migration (or the reverse) fails here instead of in production."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from router.store.migrate import alembic_config
from router.store.schema import metadata


def test_the_migrated_schema_is_the_models(engine):
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def test_the_feed_migration_numbers_earlier_deliveries_in_the_order_they_were_made(tmp_path):
    """0010 gives the deliveries made before the feed existed their positions, oldest first, and
    starts the counter after them, so the next delivery follows on (SQLite: a file of its own)."""
    eng = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config()
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009")
        for i, (agency, at) in enumerate([("A", "2026-11-02"), ("B", "2026-11-01"), ("A", "2026-11-03")]):
            conn.exec_driver_sql(
                "INSERT INTO deliveries (id, outbox_id, kind, body_type, agency_code, state, attempts, "
                "next_attempt_at, created_at, updated_at) VALUES (?, ?, 'handoff.offered', 'people_mediation', "
                "?, 'succeeded', 1, ?, ?, ?)", (f"d{i}", f"o{i}", agency, at, at, at))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with eng.connect() as conn:
        seqs = dict(conn.exec_driver_sql("SELECT id, feed_seq FROM deliveries").all())
        counter = conn.exec_driver_sql("SELECT value FROM counters WHERE name = 'feed'").scalar()
    assert seqs == {"d1": 1, "d0": 2, "d2": 3} and counter == 3
    eng.dispose()
