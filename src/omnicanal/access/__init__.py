"""Who may call the hub: API keys, roles and the permission each endpoint declares."""
