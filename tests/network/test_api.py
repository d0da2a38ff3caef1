import pytest
from sqlalchemy import select

from omnicanal.access.rules import Role
from omnicanal.events.models import OutboxEvent
from omnicanal.network.models import Channel, Location

PROBLEM = "application/problem+json"


def store(code: str = "PAR-RIV", **changes):
    body = {
        "code": code, "name": "Paris Rivoli", "kind": "store",
        "address": {"line1": "12 rue de Rivoli", "postal_code": "75004", "city": "Paris", "country": "fr"},
        "latitude": 48.8556, "longitude": 2.3601, "timezone": "Europe/Paris",
        "opening_hours": {"sat": [["10:00", "19:00"]], "mon": [["14:00", "19:00"], ["09:00", "12:30"]]},
        "capabilities": {"pickup": True, "returns": True},
    }
    return {**body, **changes}


def warehouse(code: str = "WH-ORL", **changes):
    body = {"code": code, "name": "Orléans DC", "kind": "warehouse",
            "address": {"line1": "ZA des Chaises", "postal_code": "45140", "city": "Ingré", "country": "FR"},
            "latitude": 47.92, "longitude": 1.82}
    return {**body, **changes}


async def snapshot(db):
    """Every location and channel as stored, and the events recorded: what a bad request must not change."""
    async with db.reader() as session:
        locations = [(r.code, r.name, r.kind, r.address, r.latitude, r.longitude, r.timezone, r.opening_hours,
                      r.sells, r.ships, r.pickup, r.returns, r.active, r.updated_at)
                     for r in await session.scalars(select(Location).order_by(Location.code))]
        channels = [(r.code, r.name, r.kind, r.online, r.safety_buffer, r.active, r.updated_at)
                    for r in await session.scalars(select(Channel).order_by(Channel.code))]
        events = [(e.type, e.subject, e.data)
                  for e in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    return locations, channels, events


async def events_of(db, type_: str):
    async with db.reader() as session:
        return [(e.subject, e.data) for e in await session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id))]


def is_problem(response, status: int) -> bool:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status and response.json()["detail"]
    return True


# --- locations ----------------------------------------------------------------------------------------------

async def test_a_store_is_created_read_back_and_announced(client, db):
    created = await client.post("/api/v1/locations", json=store())
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/locations/PAR-RIV"
    body = created.json()
    assert body["address"] == {"line1": "12 rue de Rivoli", "line2": None, "postal_code": "75004", "city": "Paris",
                               "country": "FR"}
    assert body["opening_hours"] == {"mon": [["09:00", "12:30"], ["14:00", "19:00"]], "sat": [["10:00", "19:00"]]}
    assert body["capabilities"] == {"sells": True, "ships": False, "pickup": True, "returns": True}
    assert body["active"] is True and body["timezone"] == "Europe/Paris"
    assert (await client.get("/api/v1/locations/PAR-RIV")).json() == body
    [(subject, data)] = await events_of(db, "location.created")
    assert subject == "PAR-RIV" and data["capabilities"]["pickup"] is True and data["kind"] == "store"


async def test_a_warehouse_ships_by_default_and_takes_the_hubs_time_zone(client, settings):
    created = await client.post("/api/v1/locations", json=warehouse())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["capabilities"] == {"sells": False, "ships": True, "pickup": False, "returns": False}
    assert body["timezone"] == settings.timezone and body["opening_hours"] == {}


async def test_a_taken_code_is_409_and_the_first_location_is_untouched(client, db):
    assert (await client.post("/api/v1/locations", json=store())).status_code == 201
    before = await snapshot(db)
    again = await client.post("/api/v1/locations", json=store(name="Another"))
    assert is_problem(again, 409) and "PAR-RIV" in again.json()["detail"]
    assert await snapshot(db) == before


BAD_LOCATIONS = [
    pytest.param({"name": None}, id="no name"),
    pytest.param({"name": "   "}, id="blank name"),
    pytest.param({"kind": "kiosk"}, id="unknown kind"),
    pytest.param({"code": "PAR/RIV"}, id="slash in code"),
    pytest.param({"code": "PAR RIV"}, id="space in code"),
    pytest.param({"code": "X" * 41}, id="code too long"),
    pytest.param({"latitude": 90.5}, id="latitude above 90"),
    pytest.param({"latitude": -91}, id="latitude below -90"),
    pytest.param({"longitude": 180.01}, id="longitude above 180"),
    pytest.param({"longitude": "east"}, id="longitude not a number"),
    pytest.param({"timezone": "Europe/Lutece"}, id="unknown time zone"),
    pytest.param({"timezone": "+01:00"}, id="offset instead of zone"),
    pytest.param({"opening_hours": {"monday": [["09:00", "19:00"]]}}, id="unknown day"),
    pytest.param({"opening_hours": {"mon": [["9:00", "19:00"]]}}, id="time not HH:MM"),
    pytest.param({"opening_hours": {"mon": [["19:00", "09:00"]]}}, id="closes before it opens"),
    pytest.param({"opening_hours": {"mon": [["09:00", "13:00"], ["12:00", "19:00"]]}}, id="overlapping"),
    pytest.param({"opening_hours": {"mon": [["09:00", "12:00", "19:00"]]}}, id="three times"),
    pytest.param({"opening_hours": {"mon": "09:00-19:00"}}, id="hours as text"),
    pytest.param({"address": {"line1": "1 rue X", "postal_code": "75001", "country": "FR"}}, id="no city"),
    pytest.param({"address": {"line1": "1 rue X", "postal_code": "75001", "city": "Paris", "country": "FRA"}},
                 id="three-letter country"),
    pytest.param({"address": None}, id="no address"),
    pytest.param({"capabilities": {"delivers": True}}, id="unknown capability"),
    pytest.param({"capabilities": {"ships": "sometimes"}}, id="capability not a boolean"),
    pytest.param({"colour": "blue"}, id="unknown field"),
]


@pytest.mark.parametrize("change", BAD_LOCATIONS)
async def test_a_bad_location_is_refused_and_nothing_is_written(client, db, change):
    before = await snapshot(db)
    body = {k: v for k, v in store(**change).items() if v is not None}
    refused = await client.post("/api/v1/locations", json=body)
    assert is_problem(refused, 422)
    assert await snapshot(db) == before


async def test_not_a_number_coordinates_are_refused(client, db):
    raw = '{"code": "NAN", "name": "n", "kind": "store", "latitude": NaN, "longitude": 2, ' \
          '"address": {"line1": "a", "postal_code": "1", "city": "c", "country": "FR"}}'
    refused = await client.post("/api/v1/locations", content=raw, headers={"content-type": "application/json"})
    assert is_problem(refused, 422)
    assert await snapshot(db) == ([], [], [])


async def _five_locations(client):
    bodies = [store("PAR-RIV"), store("LYO-PDI", capabilities={"pickup": True, "ships": True}),
              store("NAN-CTR", capabilities={}, active=False), warehouse("WH-ORL"),
              warehouse("WH-LIL", capabilities={"pickup": True})]
    for body in bodies:
        assert (await client.post("/api/v1/locations", json=body)).status_code == 201


async def codes(client, **params) -> list[str]:
    response = await client.get("/api/v1/locations", params=params)
    assert response.status_code == 200, response.text
    return [item["code"] for item in response.json()["items"]]


async def test_locations_are_listed_by_code_page_after_page(client):
    await _five_locations(client)
    seen, cursor, pages = [], None, 0
    while True:
        page = (await client.get("/api/v1/locations", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
                                 )).json()
        seen += [item["code"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["LYO-PDI", "NAN-CTR", "PAR-RIV", "WH-LIL", "WH-ORL"] and pages == 3


async def test_locations_are_filtered_by_kind_capabilities_and_activity(client):
    await _five_locations(client)
    assert await codes(client, kind="warehouse") == ["WH-LIL", "WH-ORL"]
    assert await codes(client, capability="pickup") == ["LYO-PDI", "PAR-RIV", "WH-LIL"]
    assert await codes(client, capability=["pickup", "ships"]) == ["LYO-PDI", "WH-LIL"]
    assert await codes(client, capability="sells", active="true") == ["LYO-PDI", "PAR-RIV"]
    assert await codes(client, active="false") == ["NAN-CTR"]
    assert await codes(client, kind="store", capability="returns") == ["PAR-RIV"]


@pytest.mark.parametrize("params", [
    {"capability": "delivers"}, {"kind": "kiosk"}, {"active": "maybe"}, {"limit": 0}, {"limit": 501},
    {"cursor": "not-a-cursor"}, {"cursor": "WzFd"},  # WzFd is [1]: a cursor, but not a code
])
async def test_bad_list_parameters_are_422(client, params):
    await _five_locations(client)
    assert is_problem(await client.get("/api/v1/locations", params=params), 422)


async def test_an_unknown_location_is_404(client):
    assert is_problem(await client.get("/api/v1/locations/NOWHERE"), 404)
    assert is_problem(await client.patch("/api/v1/locations/NOWHERE", json={"name": "x"}), 404)


async def test_a_patch_changes_only_what_it_names_and_says_so(client, db):
    await client.post("/api/v1/locations", json=store())
    patched = await client.patch("/api/v1/locations/PAR-RIV", json={
        "name": "Paris Rivoli (flagship)", "capabilities": {"ships": True}, "opening_hours": {"sun": [["10:00",
                                                                                                     "13:00"]]}})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["name"] == "Paris Rivoli (flagship)"
    assert body["capabilities"] == {"sells": True, "ships": True, "pickup": True, "returns": True}
    assert body["opening_hours"] == {"sun": [["10:00", "13:00"]]}
    assert body["latitude"] == 48.8556 and body["updated_at"] > body["created_at"]
    assert (await client.get("/api/v1/locations/PAR-RIV")).json() == body
    [(subject, data)] = await events_of(db, "location.updated")
    assert subject == "PAR-RIV" and data["changed"] == ["name", "opening_hours", "ships"]


async def test_a_patch_that_changes_nothing_records_no_event(client, db):
    await client.post("/api/v1/locations", json=store())
    before = await snapshot(db)
    same = await client.patch("/api/v1/locations/PAR-RIV", json={"name": "Paris Rivoli",
                                                                  "capabilities": {"pickup": True}})
    assert same.status_code == 200
    assert await snapshot(db) == before


async def test_a_location_can_be_closed_and_reopened(client):
    await client.post("/api/v1/locations", json=store())
    assert (await client.patch("/api/v1/locations/PAR-RIV", json={"active": False})).json()["active"] is False
    assert await codes(client, active="true") == []
    assert (await client.patch("/api/v1/locations/PAR-RIV", json={"active": True})).json()["active"] is True


@pytest.mark.parametrize("patch", [
    {"name": None}, {"active": None}, {"timezone": None}, {"code": "PAR-NEW"}, {"latitude": 100},
    {"timezone": "Paris"}, {"opening_hours": {"mon": [["10:00", "09:00"]]}}, {"capabilities": {"fly": True}},
    {"kind": "shop"}, {"address": {"line1": "x"}},
])
async def test_a_bad_patch_is_refused_and_changes_nothing(client, db, patch):
    await client.post("/api/v1/locations", json=store())
    before = await snapshot(db)
    assert is_problem(await client.patch("/api/v1/locations/PAR-RIV", json=patch), 422)
    assert await snapshot(db) == before


async def test_a_replayed_creation_answers_the_same_and_writes_once(client, db):
    headers = {"Idempotency-Key": "open-par-riv"}
    first = await client.post("/api/v1/locations", json=store(), headers=headers)
    replay = await client.post("/api/v1/locations", json=store(), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert len(await events_of(db, "location.created")) == 1
    before = await snapshot(db)
    reused = await client.post("/api/v1/locations", json=store("LYO-PDI"), headers=headers)
    assert is_problem(reused, 422)
    assert await snapshot(db) == before


async def test_reading_the_network_is_not_changing_it(client, key_for, db):
    await client.post("/api/v1/locations", json=store())
    analyst, associate = await key_for(Role.ANALYST), await key_for(Role.STORE_ASSOCIATE)
    assert (await client.get("/api/v1/locations/PAR-RIV", headers=analyst)).status_code == 200
    assert (await client.get("/api/v1/channels", headers=associate)).status_code == 200
    before = await snapshot(db)
    assert is_problem(await client.post("/api/v1/locations", json=store("LYO-PDI"), headers=analyst), 403)
    assert is_problem(await client.patch("/api/v1/locations/PAR-RIV", json={"name": "x"}, headers=associate), 403)
    assert is_problem(await client.post("/api/v1/channels", json={"code": "web", "name": "Web", "kind": "web"},
                                        headers=associate), 403)
    assert await snapshot(db) == before
    head_office = await key_for(Role.HEAD_OFFICE)
    assert (await client.post("/api/v1/channels", json={"code": "web", "name": "Web", "kind": "web"},
                              headers=head_office)).status_code == 201


async def test_the_network_needs_credentials(anonymous):
    for path in ("/api/v1/locations", "/api/v1/channels", "/api/v1/locations/PAR-RIV"):
        assert is_problem(await anonymous.get(path), 401)
    assert is_problem(await anonymous.post("/api/v1/locations", json=store()), 401)


# --- channels -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "online"), [
    ("web", True), ("app", True), ("kiosk", True), ("marketplace", True), ("social", True), ("pos", False)])
async def test_every_channel_but_a_till_is_online_unless_told(client, kind, online):
    created = await client.post("/api/v1/channels", json={"code": kind, "name": kind.title(), "kind": kind})
    assert created.status_code == 201, created.text
    assert created.json()["online"] is online and created.json()["safety_buffer"] == 0


async def test_a_channel_is_created_read_back_and_announced(client, db):
    body = {"code": "amazon-fr", "name": "Amazon FR", "kind": "marketplace", "safety_buffer": 2}
    created = await client.post("/api/v1/channels", json=body)
    assert created.status_code == 201 and created.headers["location"] == "/api/v1/channels/amazon-fr"
    out = created.json()
    assert {k: out[k] for k in ("code", "name", "kind", "online", "safety_buffer", "active")} == {
        **body, "online": True, "active": True}
    assert (await client.get("/api/v1/channels/amazon-fr")).json() == out
    [(subject, data)] = await events_of(db, "channel.created")
    assert subject == "amazon-fr" and data["safety_buffer"] == 2


async def test_a_web_channel_may_be_declared_offline_and_a_till_online(client):
    web = await client.post("/api/v1/channels", json={"code": "web", "name": "Web", "kind": "web", "online": False})
    pos = await client.post("/api/v1/channels", json={"code": "pos", "name": "Tills", "kind": "pos", "online": True})
    assert web.json()["online"] is False and pos.json()["online"] is True


@pytest.mark.parametrize("body", [
    {"code": "web", "name": "Web", "kind": "fax"},
    {"code": "web", "name": "Web", "kind": "web", "safety_buffer": -1},
    {"code": "web", "name": "Web", "kind": "web", "safety_buffer": 1.5},
    {"code": "web", "name": "", "kind": "web"},
    {"code": "w/b", "name": "Web", "kind": "web"},
    {"name": "Web", "kind": "web"},
    {"code": "web", "name": "Web", "kind": "web", "online": "yes please"},
    {"code": "web", "name": "Web", "kind": "web", "buffer": 2},
])
async def test_a_bad_channel_is_refused_and_nothing_is_written(client, db, body):
    assert is_problem(await client.post("/api/v1/channels", json=body), 422)
    assert await snapshot(db) == ([], [], [])


async def test_a_taken_channel_code_is_409(client, db):
    await client.post("/api/v1/channels", json={"code": "web", "name": "Web", "kind": "web"})
    before = await snapshot(db)
    assert is_problem(await client.post("/api/v1/channels", json={"code": "web", "name": "Two", "kind": "app"}), 409)
    assert await snapshot(db) == before


async def test_channels_are_listed_by_code_and_filtered(client):
    for code, kind, active in [("web", "web", True), ("app", "app", True), ("pos", "pos", True),
                               ("tiktok", "social", False), ("amazon", "marketplace", True)]:
        await client.post("/api/v1/channels", json={"code": code, "name": code, "kind": kind, "active": active})
    first = (await client.get("/api/v1/channels", params={"limit": 3})).json()
    second = (await client.get("/api/v1/channels", params={"limit": 3, "cursor": first["next"]})).json()
    assert [c["code"] for c in first["items"] + second["items"]] == ["amazon", "app", "pos", "tiktok", "web"]
    assert second["next"] is None

    async def listed(**params):
        return [c["code"] for c in (await client.get("/api/v1/channels", params=params)).json()["items"]]

    assert await listed(online="false") == ["pos"]
    assert await listed(active="false") == ["tiktok"]
    assert await listed(kind="marketplace") == ["amazon"]
    assert is_problem(await client.get("/api/v1/channels", params={"kind": "fax"}), 422)


async def test_a_channel_patch_changes_the_buffer_and_says_so(client, db):
    await client.post("/api/v1/channels", json={"code": "web", "name": "Web", "kind": "web"})
    patched = await client.patch("/api/v1/channels/web", json={"safety_buffer": 3, "name": "Web shop"})
    assert patched.status_code == 200 and patched.json()["safety_buffer"] == 3
    assert (await client.get("/api/v1/channels/web")).json()["name"] == "Web shop"
    [(subject, data)] = await events_of(db, "channel.updated")
    assert subject == "web" and data["changed"] == ["name", "safety_buffer"]
    before = await snapshot(db)
    for bad in ({"safety_buffer": -2}, {"online": None}, {"code": "web2"}, {"kind": "fax"}):
        assert is_problem(await client.patch("/api/v1/channels/web", json=bad), 422)
    assert await snapshot(db) == before
    assert is_problem(await client.patch("/api/v1/channels/nope", json={"name": "x"}), 404)
    assert is_problem(await client.get("/api/v1/channels/nope"), 404)


async def test_a_replayed_channel_creation_writes_once(client, db):
    headers = {"Idempotency-Key": "chan-web"}
    body = {"code": "web", "name": "Web", "kind": "web"}
    first = await client.post("/api/v1/channels", json=body, headers=headers)
    replay = await client.post("/api/v1/channels", json=body, headers=headers)
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert len(await events_of(db, "channel.created")) == 1
