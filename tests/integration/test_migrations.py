"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL: a model
change without its migration (or the reverse) fails here instead of in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from router.store.schema import metadata


def test_the_migrated_schema_is_the_models(engine):
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []
