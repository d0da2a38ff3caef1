"""Probable duplicates, as pure rules: alike names *and* something else in common."""

from datetime import date

import pytest

from omnicanal.customers.matching import Person, email_local_part, fold, likeness, match_keys


def person(id="a", first="Anne", last="Dupont", **more) -> Person:
    return Person(id=id, first_name=first, last_name=last, **more)


def test_names_are_folded_before_they_are_compared():
    assert fold("  Anne-Sophie  LE BŒUF ") == "anne sophie le boeuf"
    assert fold("Hélène") == "helene" and fold(None) == ""


@pytest.mark.parametrize(("email", "local"), [
    ("anne.dupont@gmail.com", "annedupont"), ("Anne.Dupont+shop@orange.fr", "annedupont"),
    ("ab@x.fr", None), ("not-an-email", None), (None, None),
])
def test_the_email_local_part_ignores_dots_and_tags(email, local):
    assert email_local_part(email) == local


def test_match_keys_are_postal_code_and_initial_email_local_part_and_birth_date():
    keys = match_keys(person(email="anne.dupont@gmail.com", birth_date=date(1988, 4, 12), postal_code="69 002"))
    assert keys == {"place": "69002|d", "email_local": "annedupont", "birth_date": "1988-04-12"}
    assert match_keys(person(last=None, postal_code="69002")) == {}


@pytest.mark.parametrize(("other", "reasons"), [
    (person("b", "Anne", "Dupond", postal_code="69002"), ["same postal code"]),
    (person("b", "Dupont", "Anne", email="anne.dupont@orange.fr"), ["same e-mail before the @"]),
    (person("b", "Anne", "Dupont", birth_date=date(1988, 4, 12), postal_code="69002"),
     ["same postal code", "same birth date"]),
])
def test_alike_names_with_something_in_common_are_proposed_with_their_reasons(other, reasons):
    anne = person(email="anne.dupont@gmail.com", birth_date=date(1988, 4, 12), postal_code="69002")
    found = likeness(anne, other)
    assert found is not None
    assert found.reasons[0].startswith("similar names") and list(found.reasons[1:]) == reasons
    assert 60 <= found.score <= 100


def test_two_pieces_of_evidence_score_higher_than_one():
    anne = person(birth_date=date(1988, 4, 12), postal_code="69002")
    one = likeness(anne, person("b", postal_code="69002"))
    two = likeness(anne, person("b", postal_code="69002", birth_date=date(1988, 4, 12)))
    assert one is not None and two is not None and two.score > one.score


@pytest.mark.parametrize("other", [
    person("b", "Bernard", "Martin", postal_code="69002"),  # different names, same postal code
    person("b", "Anne", "Dupont", postal_code="75001"),  # same names, nothing else in common
    person("a", "Anne", "Dupont", postal_code="69002"),  # the same record
    person("b", None, None, postal_code="69002"),  # no name to compare
])
def test_nothing_is_proposed_without_alike_names_and_evidence(other):
    assert likeness(person(postal_code="69002"), other) is None
