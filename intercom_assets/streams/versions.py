"""Which Intercom API version serves what: features a stream uses only from some version on."""

V2_16 = (2, 16)
"""2.16 adds the deleted-conversations feed, company notes and contact merge history."""

FILLED_FROM: dict[str, tuple[int, int]] = {
    "company_notes": V2_16,
    "deleted_conversations": V2_16,
}
"""Tables whose source exists only from an API version on: on earlier versions they stay
empty."""


def at_least(api_version: str, minimum: tuple[int, int]) -> bool:
    """Whether `api_version` (`2.14`, `2.16`, `Preview`) is `minimum` or later; `Preview`
    (Intercom's newest) is later than every numbered version."""
    major, _, minor = api_version.partition(".")
    if not major.isdigit():
        return True
    return (int(major), int(minor) if minor.isdigit() else 0) >= minimum


def empty_on(api_version: str) -> list[str]:
    """The tables that stay empty when reading with `api_version`."""
    return [table for table, since in FILLED_FROM.items() if not at_least(api_version, since)]


def empty_note(api_version: str) -> str | None:
    """One line naming the tables `api_version` leaves empty, or None."""
    empty = empty_on(api_version)
    if not empty:
        return None
    return (
        f"on API version {api_version} {' and '.join(empty)} stay empty: Intercom lists"
        " company notes and deleted conversations from 2.16 on (INTERCOM_API_VERSION=2.16)"
    )
