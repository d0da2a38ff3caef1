"""Probable duplicates — pure rules: two records are proposed as one person when their names are alike
(``rapidfuzz`` token-sort ratio) *and* something else agrees (postal code, address, e-mail local part, birth
date). Exact identifiers never need this: they already point at one customer.

Candidates are looked for only within *blocks* — records sharing a match key — so that the search stays
cheap on a large hub and works on encrypted data (the keys are stored as blind indexes).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz

NAME_THRESHOLD = 85  # token-sort ratio of the folded full names, out of 100
ADDRESS_THRESHOLD = 90


@dataclass(frozen=True)
class Person:
    """What matching looks at in a customer record (clear values)."""

    id: str
    first_name: str | None
    last_name: str | None
    email: str | None = None
    phone: str | None = None
    birth_date: date | None = None
    postal_code: str | None = None
    address_line: str | None = None


@dataclass(frozen=True)
class Likeness:
    score: int  # 0–100: how sure the hub is that the two records are one person
    reasons: tuple[str, ...]


def fold(text: str | None) -> str:
    """Lower case, accents and punctuation removed, spaces collapsed: ``"Le Bœuf-Émile"`` → ``"le boeuf emile"``."""
    if not text:
        return ""
    plain = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "Oe"))
    letters = "".join(ch if ch.isalnum() else " " for ch in plain if not unicodedata.combining(ch))
    return " ".join(letters.lower().split())


def email_local_part(email: str | None) -> str | None:
    """The part before the ``@`` without dots or a ``+tag`` (``anne.dupont+shop@x.fr`` → ``annedupont``)."""
    if not email or "@" not in email:
        return None
    local = email.rsplit("@", 1)[0].split("+", 1)[0].replace(".", "").lower()
    return local if len(local) >= 3 else None


def match_keys(person: Person) -> dict[str, str]:
    """The blocks a record belongs to, by kind: ``place`` (postal code and surname initial), ``email_local``,
    ``birth_date``. Their values are hashed before they are stored."""
    keys: dict[str, str] = {}
    surname = fold(person.last_name)
    postal = "".join((person.postal_code or "").split()).upper()
    if postal and surname:
        keys["place"] = f"{postal}|{surname[0]}"
    local = email_local_part(person.email)
    if local:
        keys["email_local"] = local
    if person.birth_date is not None:
        keys["birth_date"] = person.birth_date.isoformat()
    return keys


def _full_name(person: Person) -> str:
    return fold(f"{person.first_name or ''} {person.last_name or ''}")


def likeness(a: Person, b: Person) -> Likeness | None:
    """How alike two records are, with the reasons; ``None`` when they should not be proposed."""
    name_a, name_b = _full_name(a), _full_name(b)
    if not name_a or not name_b or a.id == b.id:
        return None
    similarity = round(fuzz.token_sort_ratio(name_a, name_b))
    if similarity < NAME_THRESHOLD:
        return None
    evidence = _evidence(a, b)
    if not evidence:
        return None
    score = min(100, round(similarity * 0.6) + (40 if len(evidence) >= 2 else 20))
    return Likeness(score, (f"similar names ({similarity} %)", *evidence))


def _evidence(a: Person, b: Person) -> list[str]:
    found = []
    if a.postal_code and a.postal_code == b.postal_code:
        found.append("same postal code")
    if a.address_line and b.address_line and fuzz.ratio(fold(a.address_line),
                                                         fold(b.address_line)) >= ADDRESS_THRESHOLD:
        found.append("same street address")
    if email_local_part(a.email) and email_local_part(a.email) == email_local_part(b.email):
        found.append("same e-mail before the @")
    if a.birth_date and a.birth_date == b.birth_date:
        found.append("same birth date")
    if a.phone and a.phone == b.phone:
        found.append("same phone")
    return found
