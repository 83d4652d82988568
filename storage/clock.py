"""The one clock and the one way an instant is kept: aware UTC, on SQLite as on PostgreSQL.

PostgreSQL's `timestamptz` keeps the instant whatever zone a value carries; SQLite keeps text,
and SQLAlchemy's SQLite DateTime writes a value's wall-clock digits and drops its zone. A time
typed in WIB (23:30+07:00) was so stored as 23:30 and read back as 23:30 UTC, seven hours late.
`UTCDateTime` converts every value to UTC before it is written and hands back aware UTC values on
both databases, so no reader has to guess what a naive value means.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC instant; a naive value is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware column whose values are written in UTC and read back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value
