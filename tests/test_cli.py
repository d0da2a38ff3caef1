"""The ``omnicanal`` command, run as an operator would, each test on its own SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from omnicanal.app import create_app
from omnicanal.cli import app
from omnicanal.config import Settings
from omnicanal.kit import crypto
from omnicanal.migrations import head_revision

runner = CliRunner()


@pytest.fixture(autouse=True)
def _restore_keyring() -> Iterator[None]:
    """CLI commands install the keyring their settings describe; the rest of the suite keeps its own."""
    ring = crypto.keyring()
    yield
    crypto.install(ring)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "hub.db"


def omnicanal(database: Path, *args: str) -> Result:
    return runner.invoke(app, list(args), env={"OMNICANAL_DATABASE_URL": f"sqlite+aiosqlite:///{database}"})


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


def test_migrate_twice_builds_the_schema_once(database: Path) -> None:
    first = omnicanal(database, "migrate")
    second = omnicanal(database, "migrate")

    assert first.exit_code == 0, first.output
    assert "migrated from empty" in first.output
    assert second.exit_code == 0, second.output
    assert "up to date" in second.output
    assert query(database, "SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_create_api_key_prints_a_token_that_opens_the_api(database: Path) -> None:
    result = omnicanal(database, "create-api-key", "--name", "merchandising", "--role", "head_office")

    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("omk_")
    assert query(database, "SELECT name, role FROM api_key") == [("merchandising", "head_office")]
    assert asyncio.run(_get(database, "/api/v1/locations", token)) == 200
    assert asyncio.run(_get(database, "/api/v1/locations", token + "x")) == 401


async def _get(database: Path, path: str, token: str) -> int:
    application = create_app(Settings(database_url=f"sqlite+aiosqlite:///{database}"), background_jobs=False)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            return response.status_code
    finally:
        await application.state.db.dispose()


def test_create_api_key_refuses_an_unknown_role_and_creates_nothing(database: Path) -> None:
    omnicanal(database, "migrate")
    result = omnicanal(database, "create-api-key", "--name", "intruder", "--role", "superuser")

    assert result.exit_code == 2
    assert "superuser" in result.output
    assert query(database, "SELECT count(*) FROM api_key") == [(0,)]


def test_create_api_key_refuses_a_scope_that_does_not_suit_the_role(database: Path) -> None:
    no_channel = omnicanal(database, "create-api-key", "--name", "web shop", "--role", "integration")
    unknown_channel = omnicanal(database, "create-api-key", "--name", "web shop", "--role", "integration",
                                "--channel", "minitel")

    assert no_channel.exit_code == 2 and "channel" in no_channel.output
    assert unknown_channel.exit_code == 2 and "minitel" in unknown_channel.output
    assert query(database, "SELECT count(*) FROM api_key") == [(0,)]


def test_seed_fills_an_empty_hub_then_leaves_it_alone(database: Path) -> None:
    first = omnicanal(database, "seed", "--size", "small", "--seed", "3")
    counts = query(database, 'SELECT (SELECT count(*) FROM product), (SELECT count(*) FROM "order")')
    second = omnicanal(database, "seed", "--size", "small", "--seed", "4")

    assert first.exit_code == 0, first.output
    assert counts == [(200, 3_000)]
    assert second.exit_code == 0, second.output
    assert "nothing seeded" in second.output
    assert query(database, 'SELECT (SELECT count(*) FROM product), (SELECT count(*) FROM "order")') == counts
    assert query(database, "SELECT count(*) FROM outbox_event WHERE type = 'demo.seeded'") == [(1,)]


def test_version_and_help_name_the_commands() -> None:
    version = runner.invoke(app, ["--version"])
    help_ = runner.invoke(app, ["--help"])

    assert version.exit_code == 0 and version.output.startswith("omnicanal ")
    for command in ("serve", "migrate", "seed", "demo", "create-api-key", "bench"):
        assert command in help_.output


def test_a_store_key_works_in_the_stores_it_names(database: Path) -> None:
    omnicanal(database, "seed", "--size", "small")
    result = omnicanal(database, "create-api-key", "--name", "Lyon manager", "--role", "store_manager",
                       "--location", "LYO-PDI")
    unknown = omnicanal(database, "create-api-key", "--name", "ghost", "--role", "store_manager",
                        "--location", "ATLANTIS")

    assert result.exit_code == 0, result.output
    assert query(database, "SELECT role, locations FROM api_key") == [("store_manager", '["LYO-PDI"]')]
    assert unknown.exit_code == 2 and "ATLANTIS" in unknown.output


def _demo_token(output: str) -> str:
    return next(line.split("=", 1)[1] for line in output.splitlines() if line.startswith("export OMNICANAL_KEY="))


def test_demo_seeds_once_issues_a_fresh_admin_key_each_time_then_serves(
    database: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[tuple[str, int]] = []
    monkeypatch.setattr("omnicanal.cli._serve", lambda settings, host, port, workers: served.append((host, port)))

    first = omnicanal(database, "demo", "--port", "8123")
    second = omnicanal(database, "demo", "--port", "8123")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert served == [("127.0.0.1", 8123)] * 2
    assert "http://127.0.0.1:8123/docs" in first.output and "curl -s" in first.output
    assert "nothing seeded" in second.output
    assert query(database, 'SELECT count(*) FROM "order"') == [(3_000,)]
    old, new = _demo_token(first.output), _demo_token(second.output)
    assert asyncio.run(_get(database, "/api/v1/prices/audit", new)) == 200
    assert asyncio.run(_get(database, "/api/v1/prices/audit", old)) == 401  # the previous demo key was revoked
    assert "admin@maison-lumiere.demo" in second.output


def test_bench_hands_its_arguments_to_the_benchmarks_command() -> None:
    help_ = runner.invoke(app, ["bench", "--help"])
    wrong = runner.invoke(app, ["bench", "--no-such-option"])

    assert help_.exit_code == 0, help_.output
    assert "omnicanal bench" in help_.output
    assert wrong.exit_code == 2
