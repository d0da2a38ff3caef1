"""Getting an order into the customer's hands: click & collect (preparation, pickup code, handover, expiry),
sourcing from another location (transfers, endless aisle) and parcels (carrier, tracking, delivery)."""
