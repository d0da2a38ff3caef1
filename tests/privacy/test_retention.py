"""The retention job: customers inactive beyond the retention period are anonymised, nobody else."""

from datetime import timedelta

from sqlalchemy import update

from omnicanal.customers.models import Customer
from omnicanal.kit.clock import utcnow
from omnicanal.orders.models import Order
from omnicanal.privacy.erasure import apply_retention
from omnicanal.privacy.models import PrivacyRequest
from tests.customers.support import consent, create, events_of, make_shop, sell, ship, table_rows
from tests.privacy.scan import found_in, logical_text

YEARS_AGO = utcnow() - timedelta(days=4 * 365)


async def backdate(db, customer_id, *orders):
    async with db.writer() as session:
        await session.execute(update(Customer).where(Customer.id == customer_id)
                              .values(created_at=YEARS_AGO, updated_at=YEARS_AGO))
        await session.execute(update(Order).where(Order.id.in_(orders)).values(created_at=YEARS_AGO))
        await session.commit()


async def test_only_customers_inactive_beyond_the_period_are_anonymised(client, db, settings):
    await make_shop(db)
    gone = await create(client, identifiers=[])
    gone_order = await sell(client, gone["id"])
    await backdate(db, gone["id"], gone_order["id"])
    back = await create(client, email="back@example.fr", phone=None, identifiers=[])
    await backdate(db, back["id"], (await sell(client, back["id"]))["id"])
    await sell(client, back["id"])  # bought again this year
    asked = await create(client, email="asked@example.fr", phone=None, identifiers=[])
    await backdate(db, asked["id"])
    await consent(client, asked["id"], "marketing_email")  # chose this year: still in touch
    busy = await create(client, email="busy@example.fr", phone=None, identifiers=[])
    await backdate(db, busy["id"], (await ship(client, busy["id"]))["id"])  # an old parcel not yet delivered
    new = await create(client, email="new@example.fr", phone=None, identifiers=[])

    async with db.writer() as session:
        dry = await apply_retention(session, now=utcnow(), days=settings.retention_days, apply=False)
        await session.commit()
    assert sorted(dry.inactive) == sorted([gone["id"], busy["id"]]) and dry.erased == []
    assert found_in(await logical_text(db), [gone["id"]]) == [gone["id"]]

    async with db.writer() as session:
        run = await apply_retention(session, now=utcnow(), days=settings.retention_days, apply=True)
        await session.commit()
    assert [e.rows["customer"] for e in run.erased] == [1] and run.skipped == [busy["id"]]
    token = run.erased[0].token
    text = await logical_text(db)
    assert found_in(text, [gone["id"], "gwen.kerbrat@example.fr"]) == []
    assert found_in(text, [back["id"], asked["id"], busy["id"], new["id"]]) == [back["id"], asked["id"], busy["id"],
                                                                               new["id"]]
    assert (await client.get(f"/api/v1/orders/{gone_order['id']}")).json()["customer"] == token
    [request] = await table_rows(db, PrivacyRequest)
    assert (request.kind, request.customer_id, request.requested_by) == ("retention", token, "system")
    assert [(s, d["kind"]) for _, s, d in await events_of(db, "customer.erased")] == [(token, "retention")]
