"""``omnicanal gdpr …`` as an operator runs it, each test on its own SQLite file with its own keys."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from omnicanal.app import create_app
from omnicanal.cli import app
from omnicanal.config import Settings
from omnicanal.db import connect
from omnicanal.kit import crypto
from omnicanal.kit.crypto import new_key
from omnicanal.models import Base
from tests.customers.support import make_shop, person

runner = CliRunner()
KEY, INDEX = new_key(), new_key()


@pytest.fixture(autouse=True)
def _restore_keyring() -> Iterator[None]:
    ring = crypto.keyring()
    yield
    crypto.install(ring)


@pytest.fixture
def hub(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A hub on its own file with Gwenaëlle and one of her sales."""
    database = tmp_path / "hub.db"
    env = {"OMNICANAL_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "OMNICANAL_ENCRYPTION_KEYS": KEY,
           "OMNICANAL_BLIND_INDEX_KEY": INDEX, "OMNICANAL_ADMIN_TOKEN": "cli-test"}
    asyncio.run(_populate(env))
    return database, env


async def _populate(env: dict[str, str]) -> None:
    settings = Settings(database_url=env["OMNICANAL_DATABASE_URL"], encryption_keys=KEY, blind_index_key=INDEX,
                        admin_token="cli-test")
    db = connect(settings)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await db.dispose()
    application = create_app(settings, background_jobs=False)
    await make_shop(application.state.db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://hub",
                                 headers={"Authorization": "Bearer cli-test"}) as client:
        gwen = (await client.post("/api/v1/customers", json=person())).json()
        sale = await client.post("/api/v1/orders", json={"channel": "pos", "fulfillment": "carry_out",
                                                         "location": "LYO-PDI", "customer": gwen["id"],
                                                         "lines": [{"sku": "LAMP-1", "quantity": 1}]})
        assert sale.status_code == 201, sale.text
    await application.state.db.dispose()


def gdpr(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, ["gdpr", *args], env=env, input=input)


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


def customer_id(database: Path) -> str:
    [(found,)] = query(database, "SELECT id FROM customer")
    return str(found)


def test_export_writes_everything_held_and_records_the_request(hub, tmp_path):
    database, env = hub
    gwen = customer_id(database)
    result = gdpr(env, "export", gwen, "--output", str(tmp_path / "gwen.json"))
    assert result.exit_code == 0, result.output
    export = json.loads((tmp_path / "gwen.json").read_text())
    tables = {h["table"]: h["rows"] for h in export["holdings"]}
    assert tables["customer"][0]["email"] == "gwen.kerbrat@example.fr" and len(tables["order"]) == 1
    assert query(database, "SELECT kind, customer_id, requested_by LIKE 'cli:%' FROM privacy_request") == [
        ("access", gwen, 1)]
    assert query(database, "SELECT action, subject_id, route FROM audit_entry WHERE principal_kind = 'cli'") == [
        ("export", gwen, "cli gdpr export")]
    printed = gdpr(env, "export", gwen)
    assert printed.exit_code == 0 and json.loads(printed.stdout)["customer_id"] == gwen
    unknown = gdpr(env, "export", "cus_nobody")
    assert unknown.exit_code == 1 and "No customer cus_nobody" in unknown.output


def test_erase_asks_first_then_leaves_nothing_of_the_person(hub):
    database, env = hub
    gwen = customer_id(database)
    declined = gdpr(env, "erase", gwen, input="n\n")
    assert declined.exit_code == 1 and query(database, "SELECT id FROM customer") == [(gwen,)]
    result = gdpr(env, "erase", gwen, "--yes")
    assert result.exit_code == 0, result.output
    [(token,)] = query(database, "SELECT customer_id FROM \"order\"")
    assert token.startswith("anon_") and token in result.output
    assert query(database, "SELECT count(*) FROM customer") == [(0,)]
    assert query(database, "SELECT kind, customer_id FROM privacy_request") == [("erasure", token)]
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert gwen.encode() not in database.read_bytes()


def test_retention_lists_then_anonymises_the_inactive(hub):
    database, env = hub
    gwen = customer_id(database)
    assert "0 customer(s) inactive" in gdpr(env, "retention").output
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE customer SET created_at = '2020-01-01 00:00:00', updated_at = '2020-01-01 00:00:00'")
        conn.execute("UPDATE \"order\" SET created_at = '2020-01-01 00:00:00'")
    dry = gdpr(env, "retention")
    assert dry.exit_code == 0 and "1 customer(s) inactive" in dry.output and gwen in dry.output
    assert "Dry run" in dry.output and query(database, "SELECT id FROM customer") == [(gwen,)]
    applied = gdpr(env, "retention", "--apply")
    assert applied.exit_code == 0 and "1 anonymised" in applied.output
    assert query(database, "SELECT count(*) FROM customer") == [(0,)]
    assert query(database, "SELECT kind, requested_by FROM privacy_request") == [("retention", "system")]


def test_rotate_key_reseals_under_the_first_key_and_the_old_key_can_then_go(hub):
    database, env = hub
    fresh = new_key()
    result = gdpr({**env, "OMNICANAL_ENCRYPTION_KEYS": f"{fresh},{KEY}"}, "rotate-key")
    assert result.exit_code == 0, result.output
    new_id = crypto.key_id(crypto._decode_key(fresh, "test"))
    assert new_id in result.output
    emails = query(database, "SELECT email FROM customer") + query(database, "SELECT value FROM customer_identifier")
    assert emails and all(value.startswith(f"enc1:{new_id}:") for (value,) in emails)
    export = gdpr({**env, "OMNICANAL_ENCRYPTION_KEYS": fresh}, "export", customer_id(database))
    assert export.exit_code == 0 and "gwen.kerbrat@example.fr" in export.stdout


def test_new_key_prints_a_usable_key():
    result = runner.invoke(app, ["gdpr", "new-key"])
    key = result.stdout.strip()
    assert result.exit_code == 0 and len(key) == 44
    assert crypto.keyring_from(Settings(encryption_keys=key, blind_index_key=key)).current_id
