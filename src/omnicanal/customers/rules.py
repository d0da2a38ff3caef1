"""Customer rules — pure functions: how each kind of identifier is written so that one person is found
whichever channel typed it (``" Anne@Example.FR "`` and ``"anne@example.fr"`` are the same e-mail;
``"06 12 34 56 78"`` and ``"+33612345678"`` the same phone)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

import phonenumbers

DEFAULT_PHONE_REGION = "FR"  # numbers written without +country are read as French ones
MAX_VALUE_LENGTH = 200
MAX_AGE_YEARS = 130

_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_TOP_LEVEL = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_CARD = "loyalty_card"
    APP_ID = "app_id"
    POS_CUSTOMER = "pos_customer"
    MARKETPLACE_ID = "marketplace_id"
    DEVICE = "device"  # a browser or device id a channel reports anonymous activity under


# Identifiers that anonymous activity is reported under: linking one to a customer stitches that activity.
DEVICE_KINDS = (IdentifierKind.DEVICE.value, IdentifierKind.APP_ID.value)


def normalise_email(raw: str) -> str:
    """Trimmed, lower-cased and checked (``local@domain.tld``, ASCII); ``ValueError`` when not an e-mail."""
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    labels = domain.split(".")
    if not (at and local and len(email) <= 254 and len(local) <= 64 and _LOCAL_PART.match(local)
            and len(labels) >= 2 and all(_DOMAIN_LABEL.match(label) for label in labels)
            and _TOP_LEVEL.match(labels[-1])):
        raise ValueError(f"{raw.strip()!r} is not an e-mail address")
    return email


def normalise_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """The number in E.164 (``+33612345678``); ``ValueError`` unless it is a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw.strip()!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw.strip()!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_identifier(kind: str, raw: str) -> str:
    """The stored form of an identifier of ``kind``: e-mails and phones as above; other ids trimmed (a
    loyalty card number also loses its spaces). ``ValueError`` for an unknown kind or a bad value."""
    if kind not in tuple(IdentifierKind):
        raise ValueError(f"unknown identifier kind {kind!r}: use {', '.join(IdentifierKind)}")
    if kind == IdentifierKind.EMAIL:
        return normalise_email(raw)
    if kind == IdentifierKind.PHONE:
        return normalise_phone(raw)
    value = "".join(raw.split()) if kind == IdentifierKind.LOYALTY_CARD else raw.strip()
    if not value or len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"a {kind} is 1 to {MAX_VALUE_LENGTH} characters")
    if any(unicodedata.category(char).startswith("C") for char in value):
        raise ValueError(f"a {kind} may not contain control characters")
    return value


def check_birth_date(born: date, *, today: date) -> date:
    """A birth date in the past and within a human lifetime; ``ValueError`` otherwise."""
    if born > today:
        raise ValueError("a birth date cannot be in the future")
    if born.year < today.year - MAX_AGE_YEARS:
        raise ValueError(f"a birth date more than {MAX_AGE_YEARS} years ago is not plausible")
    return born
