"""The migrations build exactly the schema the models declare, on either backend, and step down and up again."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from storage.db import MIGRATIONS, make_engine, migrate
from storage.models import Base
from tests.support.servers import xdist_index


def empty_database(tmp: Path) -> str:
    """A database of its own: SQLite in `tmp`, or a fresh schema (not the one the other tests of this worker use)."""
    external = os.environ.get("WHISTLE_TEST_DATABASE_URL")
    if not external:
        return f"sqlite:///{tmp / 'migrations.db'}"
    schema = f"whistle_migrations_{xdist_index()}"
    engine = create_engine(external)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{external}{'&' if '?' in external else '?'}options=-csearch_path%3D{schema}"


def differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def inbound_indexes(engine: Engine) -> set[str]:
    return {index["name"] or "" for index in inspect(engine).get_indexes("inbound_messages")}


def alembic(engine: Engine, verb: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


def test_the_migrated_schema_is_the_models_schema(tmp_path: Path) -> None:
    engine = make_engine(empty_database(tmp_path))
    try:
        migrate(engine)
        assert differences(engine) == []
        # one index per way inbound messages are looked up: by reporter (and time), by draft, by dedupe key
        assert "ix_inbound_messages_reporter_id" not in inbound_indexes(engine)
        assert "ix_inbound_reporter_received" in inbound_indexes(engine)
        alembic(engine, "downgrade", "0001")
        assert "ix_inbound_messages_reporter_id" in inbound_indexes(engine)
        migrate(engine)
        assert differences(engine) == []
    finally:
        engine.dispose()
