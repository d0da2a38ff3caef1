"""One customer record, found by any identifier a channel knows them by."""
