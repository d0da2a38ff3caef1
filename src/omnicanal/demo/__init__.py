"""The demo retailer "Maison Lumière": twelve French stores, a warehouse near Orléans, five channels, a home
and fashion catalogue, customers and twelve months of orders — deterministic for a given seed.

``omnicanal seed --size small|medium|large`` and ``omnicanal demo`` write it with :func:`seed_demo`.
"""

from omnicanal.demo.reference import SIZES, Counts, DemoSize
from omnicanal.demo.seed import hub_has_data, seed_demo

__all__ = ["SIZES", "Counts", "DemoSize", "hub_has_data", "seed_demo"]
