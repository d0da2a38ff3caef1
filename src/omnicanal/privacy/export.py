"""The right of access: everything the hub holds on a person, from every table of the registry, as JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Principal
from omnicanal.customers.merging import merged_ids
from omnicanal.customers.service import get_customer
from omnicanal.kit.clock import utcnow
from omnicanal.privacy.holdings import jsonable, rows_about
from omnicanal.privacy.registry import HOLDINGS
from omnicanal.privacy.requests import record_request
from omnicanal.privacy.rules import RequestKind


async def export_customer(session: AsyncSession, *, customer_id: str, principal: Principal | None,
                          policy_version: str) -> dict[str, Any]:
    """The complete export of customer ``customer_id`` (and of the records merged into them), recorded as an
    access request. Sealed values appear in clear: this is the person's own copy."""
    await get_customer(session, customer_id)
    ids = [customer_id, *await merged_ids(session, customer_id)]
    found = await rows_about(session, ids)
    request = await record_request(session, kind=RequestKind.ACCESS, customer_id=customer_id, principal=principal,
                                   details={"tables": {name: len(rows) for name, rows in found.items()}})
    return {
        "customer_id": customer_id,
        "also_known_as": ids[1:],
        "generated_at": utcnow().isoformat(),
        "request_id": request.id,
        "privacy_policy_version": policy_version,
        "holdings": [
            {"table": h.table, "holds": h.holds, "rows": jsonable(found[h.table])}
            for h in HOLDINGS if h.table in found
        ],
    }
