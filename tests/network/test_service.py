"""The network services other domains call."""

import pytest

from omnicanal.kit.errors import InvalidRequest, NotFound
from omnicanal.network import service
from omnicanal.network.errors import ChannelNotFound, LocationNotFound
from tests.factories import make_network


@pytest.fixture
async def network(db):
    await make_network(db)
    async with db.writer() as session:
        (await service.get_location(session, "LYO-PDI")).active = False
        await session.commit()


async def test_get_location_and_get_channel_find_by_code_or_say_not_found(db, network):
    async with db.reader() as session:
        assert (await service.get_location(session, "PAR-RIV")).kind == "store"
        assert (await service.get_location(session, "LYO-PDI")).active is False  # inactive ones are found too
        assert (await service.get_channel(session, "pos")).online is False
        with pytest.raises(LocationNotFound, match="NOWHERE") as missing:
            await service.get_location(session, "NOWHERE")
        assert isinstance(missing.value, NotFound)
        with pytest.raises(ChannelNotFound, match="fax"):
            await service.get_channel(session, "fax")


async def test_list_locations_gives_active_ones_with_a_capability_by_default(db, network):
    async with db.reader() as session:
        async def codes(**kw):
            return [location.code for location in await service.list_locations(session, **kw)]

        assert await codes() == ["PAR-RIV", "WH-ORL"]
        assert await codes(capability="ships") == ["PAR-RIV", "WH-ORL"]
        assert await codes(capability="pickup") == ["PAR-RIV"]
        assert await codes(capability="pickup", active=None) == ["LYO-PDI", "PAR-RIV"]
        assert await codes(active=False) == ["LYO-PDI"]
        with pytest.raises(InvalidRequest, match="teleports"):
            await codes(capability="teleports")
