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
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


asyncio.run(_main())
