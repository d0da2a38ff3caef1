"""Timestamps are stored in UTC on both databases; on SQLite as the text SQLAlchemy's own DATETIME writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from omnicanal.db import UTCDateTime

SQLITE = sqlite.dialect()
STORED = UTCDateTime().dialect_impl(SQLITE)

offsets = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])
moments = st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets)


@given(moments)
def test_a_moment_is_stored_on_sqlite_as_sqlalchemy_writes_it_and_read_back_the_same(moment):
    sqlalchemys_text = TypeDecorator.bind_processor(STORED, SQLITE)(moment)  # this type's step, then DATETIME's
    stored = STORED._cached_bind_processor(SQLITE)(moment)
    assert stored == sqlalchemys_text
    assert STORED._cached_result_processor(SQLITE, None)(stored) == moment


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        STORED._cached_bind_processor(SQLITE)(datetime(2026, 1, 1, 12, 0))

