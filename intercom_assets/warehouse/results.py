"""What a write reports back."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableCounts:
    """Rows per outcome for one table in one write.

    Entity tables: `inserted` (new ids), `updated` (live, content changed), `unchanged`,
    `revived` (stored soft-deleted, seen again; rewritten), `deleted` (soft-deleted by
    `soft_delete_missing`). Link/child tables: `inserted` and `deleted` count rows of the
    `replaced_parents` whose set changed; `unchanged` counts batch rows of the other parents.
    `kept` counts stored child rows of those parents that stayed because the write was
    told to keep them (`keep`).
    `duplicates` counts batch rows dropped because a later row had the same key.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    revived: int = 0
    duplicates: int = 0
    replaced_parents: int = 0
    kept: int = 0

    @property
    def written(self) -> int:
        """Rows inserted, updated or revived."""
        return self.inserted + self.updated + self.revived


@dataclass(frozen=True)
class WriteResult:
    """Counts per table for one transaction."""

    tables: dict[str, TableCounts] = field(default_factory=dict)


@dataclass(frozen=True)
class TableTotals:
    """Stored rows of a table: live (`_deleted_at` null) and soft-deleted."""

    live: int
    deleted: int
