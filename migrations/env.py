"""Alembic environment: the connection comes from `zyz init` (config attribute) or ZYZ_DATABASE_URL."""

import os

from alembic import context
from sqlmodel import SQLModel

import workflow.core.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from workflow.core.db import compare_type, make_engine
from workflow.core.search import outside_models

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    url = os.environ.get("ZYZ_DATABASE_URL", "sqlite:///instance/zyz.db")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True,
                      include_name=outside_models)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(os.environ.get("ZYZ_DATABASE_URL", "sqlite:///instance/zyz.db"))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", include_name=outside_models,
                      compare_type=compare_type)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
