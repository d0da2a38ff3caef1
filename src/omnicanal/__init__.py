"""Omnicanal — the omnichannel retail hub: one catalog, one stock, one customer, every channel's orders."""

__version__ = "0.1.0"
