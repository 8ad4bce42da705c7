"""The migrations build exactly the schema the models declare, on either backend, and step down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.db import MIGRATIONS, make_engine, migrate
from storage.models import Base
from tests.support.harness import database_url_for_tests


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
    engine = make_engine(database_url_for_tests(tmp_path, "whistle_migrations"))  # not the shared schema
    try:
        migrate(engine)
        assert differences(engine) == []
        # one index per way inbound messages are looked up: by reporter (and time; a draft's too), by dedupe key
        assert "ix_inbound_messages_reporter_id" not in inbound_indexes(engine)
        assert "ix_inbound_messages_draft_id" not in inbound_indexes(engine)
        assert "ix_inbound_reporter_received" in inbound_indexes(engine)
        alembic(engine, "downgrade", "0002")
        assert "ix_inbound_messages_draft_id" in inbound_indexes(engine)
        alembic(engine, "downgrade", "0001")
        assert "ix_inbound_messages_reporter_id" in inbound_indexes(engine)
        migrate(engine)
        assert differences(engine) == []
    finally:
        engine.dispose()
