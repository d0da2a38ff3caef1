"""Products, categories, channel prices and promotions — and the one rule that prices a SKU on a channel."""
