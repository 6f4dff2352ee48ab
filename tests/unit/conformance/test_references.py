"""Reference prose -> links: RFC sections to the RFC Editor, seeds with a public address."""

from __future__ import annotations

from harness.conformance.references import reference_links


def test_rfc_sections_link_to_their_anchor_and_repeats_collapse() -> None:
    links = reference_links("RFC 3261 §14 (modifying a session); RFC 3264 §8; RFC 3264 §8")
    assert links == [
        ("RFC 3261 §14", "https://www.rfc-editor.org/rfc/rfc3261#section-14"),
        ("RFC 3264 §8", "https://www.rfc-editor.org/rfc/rfc3264#section-8"),
    ]


def test_a_bare_rfc_links_to_the_document_and_only_known_seeds_link() -> None:
    links = reference_links("seed 001 (FreeSWITCH); seed 003 (media bypass); RFC 4733")
    assert [name for name, _ in links] == [
        "seed 003: Direct Routing support for media bypass", "RFC 4733"]
    assert links[1][1] == "https://www.rfc-editor.org/rfc/rfc4733"
