"""``omnicanal users …`` as an operator runs it, and the demo's one user per role."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from omnicanal.access.demo_users import DEMO_USERS, create_demo_users, sign_in_instructions
from omnicanal.access.rules import Role
from omnicanal.app import create_app
from omnicanal.cli import app
from omnicanal.config import Settings
from tests.access.factories import bearer, sign_in
from tests.factories import make_network

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "hub.db"


def omnicanal(database: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin,
                         env={"OMNICANAL_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "COLUMNS": "200"})


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


async def _sign_in(database: Path, email: str, password: str) -> int:
    application = create_app(Settings(database_url=f"sqlite+aiosqlite:///{database}"), background_jobs=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://hub") as c:
            return (await sign_in(c, email, password)).status_code
    finally:
        await application.state.db.dispose()


def test_users_are_created_listed_and_deactivated_from_the_command_line(database: Path) -> None:
    assert omnicanal(database, "migrate").exit_code == 0
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO location (code, name, kind, address, latitude, longitude, timezone, opening_hours,"
                     " sells, ships, pickup, returns, active, created_at, updated_at) VALUES ('LYO-PDI', 'Lyon',"
                     " 'store', '{}', 45.7, 4.8, 'Europe/Paris', '{}', 1, 0, 1, 1, 1, '2026-01-01', '2026-01-01')")
    created = omnicanal(database, "users", "create", "--email", "Lea.Martin@example.test", "--name", "Léa Martin",
                        "--role", "store_associate", "--location", "LYO-PDI", "--password-stdin",
                        stdin="a long enough secret\n")
    assert created.exit_code == 0, created.output
    assert "lea.martin@example.test" in created.output and "LYO-PDI" in created.output
    [(email, role, locations, hashed)] = query(database, "SELECT email, role, locations, password_hash FROM user")
    assert (email, role, locations) == ("lea.martin@example.test", "store_associate", '["LYO-PDI"]')
    assert str(hashed).startswith("$argon2id$")
    assert asyncio.run(_sign_in(database, "lea.martin@example.test", "a long enough secret")) == 200

    listed = omnicanal(database, "users", "list")
    assert listed.exit_code == 0 and "lea.martin@example.test" in listed.output and "LYO-PDI" in listed.output

    gone = omnicanal(database, "users", "deactivate", "lea.martin@example.test")
    assert gone.exit_code == 0, gone.output
    assert query(database, "SELECT active FROM user") == [(0,)]
    assert "lea.martin" not in omnicanal(database, "users", "list").output
    assert "lea.martin" in omnicanal(database, "users", "list", "--all").output
    assert asyncio.run(_sign_in(database, "lea.martin@example.test", "a long enough secret")) == 401


@pytest.mark.parametrize(("args", "stdin", "says"), [
    (["--role", "store_associate"], "a long enough secret\n", "store(s)"),  # no --location
    (["--role", "store_associate", "--location", "NOPE"], "a long enough secret\n", "Unknown location"),
    (["--role", "analyst"], "short\n", "12 characters"),
])
def test_a_user_that_cannot_work_is_refused_with_the_reason(database: Path, args, stdin, says) -> None:
    result = omnicanal(database, "users", "create", "--email", "x@example.test", "--name", "X", *args,
                       "--password-stdin", stdin=stdin)
    assert result.exit_code == 2 and says in result.output
    assert query(database, "SELECT count(*) FROM user") == [(0,)]


def test_deactivating_an_unknown_user_says_so(database: Path) -> None:
    result = omnicanal(database, "users", "deactivate", "nobody@example.test")
    assert result.exit_code == 2 and "nobody@example.test" in result.output


async def test_the_demo_gives_one_user_per_role_and_the_lyon_associate_sees_lyon(db, anonymous):
    await make_network(db)
    for _ in range(2):  # running the demo again resets the accounts instead of failing
        async with db.writer() as session:
            printed = await create_demo_users(session)
            await session.commit()
    assert {role for role, _, _ in printed} == set(Role)
    instructions = "\n".join(sign_in_instructions("http://hub"))
    assert all(email in instructions and password in instructions for _, email, password in printed)
    for role, email, password in printed:
        response = await sign_in(anonymous, email, password)
        assert response.status_code == 200, (role, response.text)
        assert response.json()["user"]["role"] == role
    lea = next(u for u in DEMO_USERS if u.email == "lea.martin@maison-lumiere.demo")
    token = (await sign_in(anonymous, lea.email, lea.password)).json()["token"]
    me = (await anonymous.get("/api/v1/auth/me", headers=bearer(token))).json()
    assert (me["role"], me["locations"]) == ("store_associate", ["LYO-PDI"])
    assert (await anonymous.get("/api/v1/locations/LYO-PDI/stock", headers=bearer(token))).status_code == 200
    assert (await anonymous.get("/api/v1/locations/PAR-RIV/stock", headers=bearer(token))).status_code == 403
