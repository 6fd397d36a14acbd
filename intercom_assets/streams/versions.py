"""Which Intercom API version serves what: features a stream uses only from some version on."""

V2_16 = (2, 16)
"""2.16 adds the deleted-conversations feed, company notes and contact merge history."""


def at_least(api_version: str, minimum: tuple[int, int]) -> bool:
    """Whether `api_version` (`2.14`, `2.16`, `Preview`) is `minimum` or later; `Preview`
    (Intercom's newest) is later than every numbered version."""
    major, _, minor = api_version.partition(".")
    if not major.isdigit():
        return True
    return (int(major), int(minor) if minor.isdigit() else 0) >= minimum
