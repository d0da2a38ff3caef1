import pytest

from tests.factories import make_network, make_product, put_stock


@pytest.fixture
async def shop(db):
    """Lamps at the warehouse (5 at 49.90 €), vases in the Paris store (2 at 15 €)."""
    await make_network(db)
    await make_product(db, "LAMP-1", 4990)
    await make_product(db, "VASE-1", 1500)
    await put_stock(db, "LAMP-1", "WH-ORL", 5)
    await put_stock(db, "VASE-1", "PAR-RIV", 2)
