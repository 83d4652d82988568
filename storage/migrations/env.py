import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import storage.campaign_models  # noqa: F401
import storage.dashboard_models  # noqa: F401
import storage.outbound  # noqa: F401  (its tables belong to the same metadata)
from storage.db import async_url, is_sqlite
from storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    url = context.config.attributes["database_url"]
    engine = create_async_engine(async_url(url))
    async with engine.connect() as conn:
        if is_sqlite(url):
            # Off while migrating, as Alembic's batch mode needs: SQLite changes a table by copying
            # it into a new one and dropping the old, and with foreign keys on, that drop would
            # delete (ON DELETE CASCADE) every row that points at it: a broadcast's outbox, a
            # lead's history. Checked once the migration is done instead.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.run_sync(_run)
        if is_sqlite(url):
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
        await conn.commit()
    await engine.dispose()


asyncio.run(_main())
