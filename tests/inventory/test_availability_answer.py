"""The availability answer — every product page's — is written straight from the figures: byte for byte what its
documented model (``AvailabilityOut``) writes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from omnicanal.inventory.api import availability_json
from omnicanal.inventory.schemas import AvailabilityOut, LocationAvailabilityOut
from omnicanal.inventory.service import Availability, LocationAvailability

units = st.integers(min_value=-(2**31), max_value=2**31)
locations = st.builds(LocationAvailability, location=st.text(), kind=st.sampled_from(["store", "warehouse"]),
                      on_hand=units, reserved=units, safety=units, available=units)
availabilities = st.builds(Availability, sku=st.text(), channel=st.none() | st.text(), total=units,
                           locations=st.lists(locations, max_size=15))


@given(availabilities)
def test_the_answer_is_what_the_documented_model_writes(found):
    documented = AvailabilityOut(sku=found.sku, channel=found.channel, total=found.total, locations=[
        LocationAvailabilityOut(location=entry.location, available=entry.available) for entry in found.locations])
    assert availability_json(found) == documented.model_dump_json().encode()
