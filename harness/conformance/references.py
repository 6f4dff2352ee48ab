"""Links for a case's reference text: RFC sections and the public seed documents.

A case's reference is prose, e.g. ``"RFC 3264 §8 (modifying the session); seed
003"``. The report shows it as text and, for what can be linked, as links:
``RFC 3264 §8`` to the RFC Editor's page at that section, and a seed number to
the public document the seed was taken from (only those with a stable address).
"""

from __future__ import annotations

import re

__all__ = ["SEED_DOCUMENTS", "reference_links"]

_RFC = re.compile(r"\bRFC\s*(\d{3,5})(?:\s*§\s*([0-9]+(?:\.[0-9]+)*))?")
_SEED = re.compile(r"\bseeds?\s+(\d{3})\b")

SEED_DOCUMENTS = {
    "002": ("Plan for media bypass in Skype for Business",
            "https://learn.microsoft.com/en-us/skypeforbusiness/plan-your-deployment/"
            "enterprise-voice-solution/media-bypass"),
    "003": ("Direct Routing support for media bypass",
            "https://learn.microsoft.com/en-us/microsoftteams/direct-routing-plan-media-bypass"),
}


def reference_links(text: str) -> list[tuple[str, str]]:
    """(name, url) for every RFC (with its section, if given) and linkable seed in `text`,
    in order of appearance, without duplicates."""
    found: dict[str, str] = {}
    for match in sorted([*_RFC.finditer(text), *_SEED.finditer(text)], key=lambda m: m.start()):
        if match.re is _RFC:
            number, section = match.group(1), match.group(2)
            name = f"RFC {number}" + (f" §{section}" if section else "")
            url = f"https://www.rfc-editor.org/rfc/rfc{number}" + (
                f"#section-{section}" if section else "")
            found.setdefault(name, url)
        elif match.group(1) in SEED_DOCUMENTS:
            title, url = SEED_DOCUMENTS[match.group(1)]
            found.setdefault(f"seed {match.group(1)}: {title}", url)
    return list(found.items())
