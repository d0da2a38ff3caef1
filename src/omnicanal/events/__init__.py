"""Domain events: written to an outbox in the same transaction as the change, read in commit order."""
