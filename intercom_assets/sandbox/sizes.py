"""Workspace size presets."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SizePreset:
    """How many records of each kind a generated workspace holds."""

    contacts: int
    companies: int
    conversations: int
    admins: int
    teams: int
    tags: int
    long_conversations: int
    """Conversations with more than 500 parts."""
    heavy_contacts: int
    """Contacts with more than 10 tags, companies and notes each."""


SIZES: dict[str, SizePreset] = {
    "tiny": SizePreset(60, 14, 40, 4, 2, 16, 1, 3),
    "demo": SizePreset(2_000, 150, 800, 12, 4, 24, 3, 10),
    "bench": SizePreset(100_000, 5_000, 20_000, 50, 10, 24, 8, 50),
}
