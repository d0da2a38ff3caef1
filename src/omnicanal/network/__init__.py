"""Where the retailer sells and ships from (stores, warehouses) and through what (channels)."""
