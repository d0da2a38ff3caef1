"""Customers and the identifiers every channel knows them by.

Each ``(kind, value)`` identifies at most one customer in the whole hub. The profile's ``email`` and
``phone`` are identifiers too, kept in step when the profile changes. Events carry ids and identifier
kinds, never the personal values, so that erasing a customer later leaves nothing behind in the stream.

Personal fields are sealed at rest (:mod:`omnicanal.kit.crypto`); an identifier is found by the blind index
of its normalised value (:func:`omnicanal.customers.crypto.identifier_digest`). Linking a device id
(``device`` or ``app_id``) to a customer stitches the device's past anonymous activity to them.

Other domains call :func:`get_customer`, :func:`find_customer` and :func:`hold_customer` (an order naming them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NoReturn

from sqlalchemy import ColumnElement, and_, bindparam, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.customers import rules
from omnicanal.customers.crypto import identifier_digest, match_key_digests, person_of
from omnicanal.customers.errors import (
    CustomerInvalid,
    CustomerNotFound,
    IdentifierInvalid,
    IdentifierIsProfileContact,
    IdentifierNotFound,
    IdentifierTaken,
)
from omnicanal.customers.models import Customer, CustomerIdentifier, CustomerMatchKey, CustomerMerge
from omnicanal.customers.schemas import CustomerIn, CustomerPatch
from omnicanal.customers.stitching import stitch_device
from omnicanal.db import table_of
from omnicanal.events.service import Event, record_events
from omnicanal.kit.clock import utcnow
from omnicanal.kit.ids import new_id
from omnicanal.kit.prebuilt import Prebuilt, Read, counting_on_answers
from omnicanal.network.errors import LocationNotFound
from omnicanal.network.service import get_location

Pair = tuple[str, str]  # (kind, value)
PROFILE_CONTACTS = ("email", "phone")  # profile fields that are identifiers of the same kind
MATCHED_FIELDS = frozenset({"first_name", "last_name", "email", "birth_date", "address"})


async def get_customer(session: AsyncSession, customer_id: str, *, lock: bool = False) -> Customer:
    """The customer ``customer_id``; :class:`CustomerNotFound` when there is none. ``lock``: locked until the
    transaction ends (an erasure: it waits for the orders holding the customer, :func:`hold_customer`)."""
    if not lock:
        customer = await session.get(Customer, customer_id)
    else:
        customer = await session.scalar(select(Customer).where(Customer.id == customer_id).with_for_update()
                                        .execution_options(populate_existing=True))
    if customer is None:
        await _not_found(session, customer_id)
    return customer


CUSTOMER = table_of(Customer).c
_HOLD = Prebuilt(select(CUSTOMER.id).where(CUSTOMER.id == bindparam("id")).with_for_update(read=True))


def customer_hold_read(customer_id: str) -> Read:
    """What :func:`hold_customer` reads (to send it ahead with others)."""
    return _HOLD, {"id": customer_id}


async def hold_customer(session: AsyncSession, customer_id: str) -> None:
    """Check the customer exists and keep them until the transaction ends — what an order naming them takes, so
    that an erasure (``get_customer(lock=True)``) either waits for the order, then sees and refuses it (still
    to fulfil), or runs first and the order finds no customer: never an order left naming an erased person.
    :class:`CustomerNotFound` when there is none. (PostgreSQL row locks; SQLite's writers are serialised
    already: where the session counts on its answers, the customer is counted on to be there when its transaction
    runs, checked with its COMMIT — if they are not, the order runs again and finds them gone.)"""
    params = customer_hold_read(customer_id)[1]
    if counting_on_answers(session):
        (await _HOLD.rows_soon(session, params)).expected = [(customer_id,)]
    elif not await _HOLD.rows(session, params):
        await _not_found(session, customer_id)


async def _not_found(session: AsyncSession, customer_id: str) -> NoReturn:
    survivor = await session.scalar(select(CustomerMerge.survivor_id).where(CustomerMerge.merged_id == customer_id))
    if survivor is not None:
        raise CustomerNotFound(f"Customer {customer_id} was merged into {survivor}.", merged_into=survivor)
    raise CustomerNotFound(f"No customer {customer_id}.")


async def find_customer(session: AsyncSession, *, kind: str, value: str) -> Customer | None:
    """The customer known by this identifier (written any way a channel may write it), or ``None``.
    :class:`IdentifierInvalid` when the kind is unknown or the value cannot be such an identifier."""
    try:
        normalised = rules.normalise_identifier(kind, value)
    except ValueError as exc:
        raise IdentifierInvalid(str(exc)) from exc
    return await session.scalar(select(Customer).join(
        CustomerIdentifier, CustomerIdentifier.customer_id == Customer.id).where(
        CustomerIdentifier.kind == kind, CustomerIdentifier.digest == identifier_digest(kind, normalised)))


async def identifiers_of(session: AsyncSession, customer_ids: Sequence[str]) -> dict[str, list[CustomerIdentifier]]:
    """Each customer's identifiers, by kind then value."""
    rows = await session.scalars(select(CustomerIdentifier).where(CustomerIdentifier.customer_id.in_(customer_ids)))
    found: dict[str, list[CustomerIdentifier]] = {customer_id: [] for customer_id in customer_ids}
    for row in sorted(rows, key=lambda row: (row.kind, row.value)):  # sealed values sort only once opened
        found[row.customer_id].append(row)
    return found


async def list_customers(session: AsyncSession, *, home_location: str | None = None, after_id: str | None = None,
                         limit: int | None = None, scope: ColumnElement[bool] | None = None) -> list[Customer]:
    """Customers in the order they were created (ids sort by creation time); ``scope`` is an extra ``WHERE``
    (e.g. :func:`omnicanal.access.scope.customer_filter_for`)."""
    query = select(Customer) if scope is None else select(Customer).where(scope)
    if home_location is not None:
        query = query.where(Customer.home_location_code == home_location)
    if after_id is not None:
        query = query.where(Customer.id > after_id)
    return list((await session.scalars(query.order_by(Customer.id).limit(limit))).all())


async def create_customer(session: AsyncSession, *, customer: CustomerIn) -> Customer:
    """Create a customer with their identifiers (the email and phone included); :class:`IdentifierTaken`
    names the first identifier another customer already holds, and nothing is written."""
    pairs = _unique([*((i.kind.value, i.value) for i in customer.identifiers), *_contacts(customer.email,
                                                                                         customer.phone)])
    await _check_home_location(session, customer.home_location)
    await _ensure_free(session, pairs, owner=None)
    now = utcnow()
    row = Customer(id=new_id("cus"), first_name=customer.first_name, last_name=customer.last_name,
                   email=customer.email, phone=customer.phone, birth_date=customer.birth_date,
                   address=customer.address.model_dump(exclude_none=True) if customer.address else {},
                   home_location_code=customer.home_location, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    await _insert_identifiers(session, row.id, pairs)
    await refresh_match_keys(session, row)
    for kind, value in pairs:
        if kind in rules.DEVICE_KINDS:
            await stitch_device(session, customer_id=row.id, device_id=value)
    await record_events(session, [Event("customer.created", row.id, {
        "customer_id": row.id, "home_location": row.home_location_code,
        "identifier_kinds": sorted({kind for kind, _ in pairs})})])
    return row


async def update_customer(session: AsyncSession, *, customer_id: str, changes: CustomerPatch) -> Customer:
    """Change what is given. A new email or phone replaces the matching identifier (still unique across the
    hub); ``null`` removes it. Records ``customer.updated`` naming the changed fields (none: no event)."""
    customer = await get_customer(session, customer_id)
    wanted = changes.model_dump(exclude_unset=True)
    if "address" in wanted:
        wanted["address"] = changes.address.model_dump(exclude_none=True) if changes.address else {}
    if "home_location" in wanted:
        wanted["home_location_code"] = wanted.pop("home_location")
        await _check_home_location(session, wanted["home_location_code"])
    changed = sorted(name for name, value in wanted.items() if getattr(customer, name) != value)
    contacts = [name for name in PROFILE_CONTACTS if name in changed]
    await _ensure_free(session, _contacts(*(wanted.get(name) for name in PROFILE_CONTACTS)), owner=customer.id)
    events = [event for name in contacts for event in await _replace_contact(
        session, customer, kind=name, old=getattr(customer, name), new=wanted[name])]
    for name in changed:
        setattr(customer, name, wanted[name])
    if changed:
        customer.updated_at = utcnow()
        if MATCHED_FIELDS.intersection(changed):
            await refresh_match_keys(session, customer)
        events.insert(0, Event("customer.updated", customer.id, {
            "customer_id": customer.id, "changed": [_public_name(name) for name in changed],
            "home_location": customer.home_location_code}))
        await session.flush()
    await record_events(session, events)
    return customer


async def add_identifier(session: AsyncSession, *, customer_id: str, kind: str, value: str) -> bool:
    """Let the customer be found by ``(kind, value)`` too; ``False`` when they already were.
    :class:`IdentifierTaken` when it identifies someone else."""
    customer = await get_customer(session, customer_id)
    value = _normalised(kind, value)
    await _ensure_free(session, [(kind, value)], owner=customer.id)
    if await _identifier(session, kind, value) is not None:
        return False
    await _insert_identifiers(session, customer.id, [(kind, value)])
    customer.updated_at = utcnow()
    await record_events(session, [_identifier_event("added", customer.id, kind)])
    if kind in rules.DEVICE_KINDS:
        await stitch_device(session, customer_id=customer.id, device_id=value)
    return True


async def refresh_match_keys(session: AsyncSession, customer: Customer) -> None:
    """Recompute the blind match keys within which the customer's probable duplicates are looked for."""
    await session.execute(delete(CustomerMatchKey).where(CustomerMatchKey.customer_id == customer.id))
    digests = match_key_digests(person_of(customer))
    if digests:
        await session.execute(insert(CustomerMatchKey), [
            {"customer_id": customer.id, "kind": kind, "digest": digest} for kind, digest in digests.items()])


async def remove_identifier(session: AsyncSession, *, customer_id: str, kind: str, value: str) -> None:
    """Forget that the customer is known by ``(kind, value)``. The profile's own email or phone cannot be
    removed this way (:class:`IdentifierIsProfileContact`): change it on the profile."""
    customer = await get_customer(session, customer_id)
    value = _normalised(kind, value)
    found = await _identifier(session, kind, value)
    if found is None or found.customer_id != customer.id:
        raise IdentifierNotFound(f"Customer {customer_id} has no such {kind} identifier.")
    if kind in PROFILE_CONTACTS and getattr(customer, kind) == value:
        raise IdentifierIsProfileContact(
            f"This {kind} is the customer's profile {kind}: change or clear it on the customer instead.")
    await session.delete(found)
    customer.updated_at = utcnow()
    await session.flush()
    await record_events(session, [_identifier_event("removed", customer.id, kind)])


async def _identifier(session: AsyncSession, kind: str, value: str) -> CustomerIdentifier | None:
    return await session.get(CustomerIdentifier, (kind, identifier_digest(kind, value)))


def _normalised(kind: str, value: str) -> str:
    try:
        return rules.normalise_identifier(kind, value)
    except ValueError as exc:
        raise IdentifierInvalid(str(exc)) from exc


def _contacts(email: str | None, phone: str | None) -> list[Pair]:
    return [(kind, value) for kind, value in zip(PROFILE_CONTACTS, (email, phone), strict=True) if value]


def _unique(pairs: Iterable[Pair]) -> list[Pair]:
    return list(dict.fromkeys(pairs))


def _public_name(column: str) -> str:
    return "home_location" if column == "home_location_code" else column


def _identifier_event(what: str, customer_id: str, kind: str) -> Event:
    return Event(f"customer.identifier_{what}", customer_id, {"customer_id": customer_id, "kind": kind})


async def _check_home_location(session: AsyncSession, code: str | None) -> None:
    if code is None:
        return
    try:
        await get_location(session, code)
    except LocationNotFound as exc:
        raise CustomerInvalid(f"home_location: no location {code}.") from exc


async def _ensure_free(session: AsyncSession, pairs: Sequence[Pair], *, owner: str | None) -> None:
    """:class:`IdentifierTaken` for the first pair held by anyone but ``owner``."""
    if not pairs:
        return
    held = await session.execute(select(CustomerIdentifier.kind, CustomerIdentifier.digest,
                                        CustomerIdentifier.customer_id).where(or_(*(
        and_(CustomerIdentifier.kind == kind, CustomerIdentifier.digest == identifier_digest(kind, value))
        for kind, value in pairs))))
    taken_digests = {(row.kind, row.digest) for row in held if row.customer_id != owner}
    taken = {(kind, value) for kind, value in pairs if (kind, identifier_digest(kind, value)) in taken_digests}
    for pair in pairs:
        if pair in taken:
            raise IdentifierTaken(*pair)


async def _insert_identifiers(session: AsyncSession, customer_id: str, pairs: Sequence[Pair]) -> None:
    """Insert in a savepoint, so that a concurrent request that took one of them first still gives a clear
    :class:`IdentifierTaken` rather than a bare conflict."""
    if not pairs:
        return
    now = utcnow()
    try:
        async with session.begin_nested():
            session.add_all(CustomerIdentifier(kind=kind, digest=identifier_digest(kind, value), value=value,
                                               customer_id=customer_id, created_at=now) for kind, value in pairs)
            await session.flush()
    except IntegrityError:
        await _ensure_free(session, pairs, owner=customer_id)
        raise


async def _replace_contact(session: AsyncSession, customer: Customer, *, kind: str, old: str | None,
                           new: str | None) -> list[Event]:
    """Move the profile's ``kind`` identifier from ``old`` to ``new`` (either may be ``None``)."""
    events: list[Event] = []
    current = await _identifier(session, kind, old) if old is not None else None
    if current is not None and current.customer_id == customer.id:
        await session.delete(current)
        await session.flush()
        events.append(_identifier_event("removed", customer.id, kind))
    if new is not None and await _identifier(session, kind, new) is None:
        await _insert_identifiers(session, customer.id, [(kind, new)])
        events.append(_identifier_event("added", customer.id, kind))
    return events
