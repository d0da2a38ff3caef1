"""The inventory of personal data covers every table: a new table naming a customer, or holding a sealed
personal column, fails here until the registry says what access, erasure and merge do with it."""

from sqlalchemy import Table

from omnicanal.models import Base
from omnicanal.privacy.erasure import SCRUBBERS
from omnicanal.privacy.registry import HOLDINGS, NOT_PERSONAL, Erase, Merge

CUSTOMER_COLUMNS = {"customer_id", "customer", "survivor_id", "merged_id", "device_digest"}
PERSONAL_COLUMNS = {"first_name", "last_name", "email", "phone", "birth_date", "address", "search"}


def _names_a_customer(table: Table) -> bool:
    return (any(c.name in CUSTOMER_COLUMNS for c in table.columns)
            or any(fk.column.table.name == "customer" for fk in table.foreign_keys)
            or any(getattr(c.type, "seals", False) for c in table.columns))


def test_every_table_naming_or_describing_a_customer_is_in_the_registry():
    registered = {h.table for h in HOLDINGS}
    missing = sorted(t.name for t in Base.metadata.sorted_tables if _names_a_customer(t) and t.name not in registered)
    assert missing == [], f"add these tables to omnicanal/privacy/registry.py HOLDINGS: {missing}"


def test_every_table_is_either_registered_or_declared_free_of_personal_data():
    registered = {h.table for h in HOLDINGS}
    unknown = sorted(set(Base.metadata.tables) - registered - set(NOT_PERSONAL))
    assert unknown == [], (f"say in omnicanal/privacy/registry.py whether these hold personal data "
                           f"(HOLDINGS) or not (NOT_PERSONAL): {unknown}")
    assert registered.isdisjoint(NOT_PERSONAL)


def test_tables_declared_free_of_personal_data_hold_no_personal_column():
    for name in NOT_PERSONAL:
        table = Base.metadata.tables.get(name)
        assert table is not None, f"NOT_PERSONAL names {name}, which is not a table"
        if name in ("user", "user_session", "login_failure", "api_key", "location"):
            continue  # staff accounts, and stores' own addresses: not customers
        assert not _names_a_customer(table), name
        assert not {c.name for c in table.columns} & PERSONAL_COLUMNS, name


def test_the_registry_is_consistent_with_the_tables_it_names():
    for holding in HOLDINGS:
        table = Base.metadata.tables.get(holding.table)
        assert table is not None, f"the registry names {holding.table}, which is not a table"
        for column in holding.columns:
            assert column in table.c, f"{holding.table}.{column}"
        if holding.parent is not None:
            parent, key, column = holding.parent
            assert parent in {h.table for h in HOLDINGS[:HOLDINGS.index(holding)]}, "parents come first"
            assert key in Base.metadata.tables[parent].c and column in table.c
        else:
            assert holding.columns or holding.erase is Erase.SCRUB, holding.table
        if holding.erase in (Erase.SCRUB, Erase.ANONYMISE):
            assert holding.table in SCRUBBERS or holding.table == "customer_activity", holding.table
        if holding.merge is Merge.MOVE:
            assert holding.columns, holding.table
