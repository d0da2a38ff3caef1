"""Reserve online, try in store: a fitting slot at a store, the articles held until the slot ends (plus grace),
then bought at the till or online, declined, or lapsed (a no-show is recorded)."""
