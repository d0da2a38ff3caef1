from datetime import date

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from omnicanal.customers.rules import (
    check_birth_date,
    normalise_email,
    normalise_identifier,
    normalise_phone,
)


@pytest.mark.parametrize(("raw", "stored"), [
    ("anne@example.fr", "anne@example.fr"),
    ("  Anne.Dupont@Example.FR ", "anne.dupont@example.fr"),
    ("jean+boutique@mail.co.uk", "jean+boutique@mail.co.uk"),
    ("o'brien@xn--caf-dma.fr", "o'brien@xn--caf-dma.fr"),
])
def test_emails_are_trimmed_and_lower_cased(raw, stored):
    assert normalise_email(raw) == stored


@pytest.mark.parametrize("raw", [
    "", "anne", "anne@", "@example.fr", "anne@example", "anne@@example.fr", "an ne@example.fr", ".anne@example.fr",
    "anne.@example.fr", "an..ne@example.fr", "anne@exa_mple.fr", "anne@-example.fr", "anne@example.f",
    "anne@example.123", "anne@example..fr", "anné@example.fr", "a" * 65 + "@example.fr",
])
def test_what_is_not_an_email_is_refused(raw):
    with pytest.raises(ValueError, match="not an e-mail"):
        normalise_email(raw)


LOCAL = st.from_regex(r"\A[a-z0-9]{1,10}(\.[a-z0-9_+-]{1,8}){0,2}\Z")
DOMAIN = st.from_regex(r"\A[a-z0-9]{1,10}(-[a-z0-9]{1,5})?\.(fr|com|co\.uk|de)\Z")


@given(LOCAL, DOMAIN, st.sampled_from(["", " ", "\t", "  "]))
def test_an_email_is_the_same_whatever_its_case_and_surrounding_spaces(local, domain, pad):
    email = f"{local}@{domain}"
    assert normalise_email(email) == email
    assert normalise_email(f"{pad}{email.upper()}{pad}") == email


@pytest.mark.parametrize(("raw", "stored"), [
    ("06 12 34 56 78", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("0033612345678", "+33612345678"),
    ("01 42 60 30 30", "+33142603030"),
    ("+44 20 7946 0958", "+442079460958"),
    ("+1 (212) 555-0142", "+12125550142"),
])
def test_phones_are_stored_in_e164_reading_national_numbers_as_french(raw, stored):
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize("raw", ["", "hello", "06 12", "12345", "+33 6 12 34 56 78 99", "+999 123456"])
def test_what_is_not_a_phone_number_is_refused(raw):
    with pytest.raises(ValueError, match="phone number"):
        normalise_phone(raw)


@given(st.sampled_from(["6", "73", "75", "78"]), st.from_regex(r"\A[0-9]{8}\Z"))
def test_a_french_mobile_is_one_number_however_it_is_written(prefix, digits):
    number = f"{prefix}{digits}"[:9]  # a French mobile is 0 + 9 digits
    pairs = " ".join(number[i:i + 2] for i in range(1, 9, 2))
    e164 = f"+33{number}"
    assume(phonenumbers.is_valid_number(phonenumbers.parse(e164)))  # the numbering plan has a few holes
    assert {normalise_phone(f"0{number}"), normalise_phone(f"0{number[0]} {pairs}"),
            normalise_phone(f"+33 {number[0]} {pairs}"), normalise_phone(f"0033{number}")} == {e164}


def test_other_identifiers_are_trimmed_and_a_loyalty_card_loses_its_spaces():
    assert normalise_identifier("loyalty_card", " 2900 1234 5678 ") == "290012345678"
    assert normalise_identifier("app_id", " ios-ABC/123 ") == "ios-ABC/123"
    assert normalise_identifier("pos_customer", "PAR-RIV 000042") == "PAR-RIV 000042"
    assert normalise_identifier("email", " A@B.FR") == "a@b.fr"
    assert normalise_identifier("phone", "0612345678") == "+33612345678"


@pytest.mark.parametrize(("kind", "raw", "message"), [
    ("passport", "X1", "unknown identifier kind"),
    ("app_id", "   ", "1 to 200"),
    ("marketplace_id", "x" * 201, "1 to 200"),
    ("pos_customer", "12\x0034", "control characters"),
    ("email", "nobody", "not an e-mail"),
])
def test_bad_identifiers_are_refused(kind, raw, message):
    with pytest.raises(ValueError, match=message):
        normalise_identifier(kind, raw)


def test_a_birth_date_is_in_the_past_and_within_a_lifetime():
    today = date(2025, 6, 1)
    assert check_birth_date(date(1990, 2, 28), today=today) == date(1990, 2, 28)
    assert check_birth_date(today, today=today) == today
    with pytest.raises(ValueError, match="future"):
        check_birth_date(date(2025, 6, 2), today=today)
    with pytest.raises(ValueError, match="not plausible"):
        check_birth_date(date(1890, 1, 1), today=today)
