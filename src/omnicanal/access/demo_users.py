"""One console user per role for the demo retailer, so that a newcomer can feel the scoping.

The passwords are deterministic and printed by ``omnicanal demo``: these accounts exist for a local demo
only. Running it again resets each account (password, role, scope, active) instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Role
from omnicanal.access.users import UserChanges, create_user, find_user_by_email, update_user


@dataclass(frozen=True)
class DemoUser:
    role: Role
    email: str
    name: str
    password: str
    locations: tuple[str, ...] = ()
    channel: str | None = None

    @property
    def scope(self) -> str:
        return ", ".join(self.locations) or self.channel or "every store and channel"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(Role.ADMIN, "admin@maison-lumiere.demo", "Alex Admin", "demo-admin-lumiere"),
    DemoUser(Role.HEAD_OFFICE, "camille.bernard@maison-lumiere.demo", "Camille Bernard", "demo-siege-lumiere"),
    DemoUser(Role.STORE_MANAGER, "julien.moreau@maison-lumiere.demo", "Julien Moreau", "demo-rivoli-manager",
             locations=("PAR-RIV",)),
    DemoUser(Role.STORE_ASSOCIATE, "lea.martin@maison-lumiere.demo", "Léa Martin", "demo-lyon-vendeuse",
             locations=("LYO-PDI",)),
    DemoUser(Role.ANALYST, "nadia.haddad@maison-lumiere.demo", "Nadia Haddad", "demo-analyste-kpi"),
    DemoUser(Role.INTEGRATION, "boutique.web@maison-lumiere.demo", "Équipe boutique web", "demo-web-integration",
             channel="web"),
)


async def create_demo_users(session: AsyncSession) -> list[tuple[Role, str, str]]:
    """Create (or reset) the demo's users; answers ``(role, email, password)`` for each, to print.
    Needs the demo network (stores PAR-RIV and LYO-PDI, channel web) to exist."""
    for demo in DEMO_USERS:
        existing = await find_user_by_email(session, demo.email)
        if existing is None:
            await create_user(session, email=demo.email, name=demo.name, role=demo.role, password=demo.password,
                              locations=demo.locations, channel=demo.channel)
        else:
            await update_user(session, user_id=existing.id, changes=UserChanges(
                name=demo.name, role=demo.role, locations=demo.locations, channel=demo.channel, active=True,
                password=demo.password))
    return [(demo.role, demo.email, demo.password) for demo in DEMO_USERS]


def sign_in_instructions(url: str) -> list[str]:
    """Lines for ``omnicanal demo`` to print: who each demo user is and how to sign in as them."""
    lines = ["# sign in as any demo user (one per role); the token goes in 'Authorization: Bearer …'"]
    for demo in DEMO_USERS:
        lines.append(f"#   {demo.role.value:<16} {demo.email:<38} {demo.password:<22} ({demo.scope})")
    lea = next(demo for demo in DEMO_USERS if demo.role is Role.STORE_ASSOCIATE)
    lines += [
        f"#   e.g. {lea.name}, associate at {lea.scope}: her store's stock yes, another store's no",
        f"curl -s {url}/api/v1/auth/login -H 'Content-Type: application/json' "
        f"-d '{{\"email\": \"{lea.email}\", \"password\": \"{lea.password}\"}}'",
    ]
    return lines
