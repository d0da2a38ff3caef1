"""Stock per SKU and location: levels, the append-only movement ledger, reservations, transfers, ATP."""
