"""Shaping API records into table frames: declare each column once, read every batch one way.

A stream declares its columns as `Field`s (column name, type, where the value sits in the
record). From them come both the warehouse `TableSpec` and the frames of a batch.

Every batch is a list of raw records (each record's JSON bytes, as `Page.raw_items` carries
them; records built in Python are encoded first, see `encode`). One reader turns a batch
into typed columns: polars' JSON reader under a schema derived from the fields (nested
structs; link member lists as list columns), unix-second timestamps become
`Datetime(us, UTC)`, JSON columns hold the exact source text of their value (read with
msgspec as raw JSON), derived columns are polars expressions over the decoded record, and
`_raw` keeps each record's own text.

A batch the reader cannot take as declared (a value of another type than its column's, a
record that is not valid UTF-8 or not JSON) is refused with a `ShapeError` naming the table,
the record's id and the column: nothing of that batch is written. `Shape.fitted` instead
gives the frames of the records that fit and the `Misfit`s (each with the same one-line
error, and also a null key), which a stream quarantines while the rest load. Numbers and
booleans in a text column are kept as their JSON text.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from intercom_assets.warehouse import JSON, TableSpec

from .fields import (
    AUTHOR,
    BOOL,
    FLOAT,
    INT,
    STRING,
    TIMESTAMP,
    Field,
    MemberPath,
    RawRecord,
    ShapeError,
    derived,
    encode,
    field,
    flattened,
    ids_at,
    table_spec,
    values_at,
)
from .reader import Misfit, diagnose, empty_frame, key_of, read, read_plan, unreadable

__all__ = [  # the streams' vocabulary: every stream module imports it from here
    "AUTHOR",
    "BOOL",
    "FLOAT",
    "INT",
    "JSON",
    "STRING",
    "TIMESTAMP",
    "Field",
    "Link",
    "MemberPath",
    "Misfit",
    "RawRecord",
    "Shape",
    "ShapeError",
    "derived",
    "encode",
    "field",
    "flattened",
    "ids_at",
    "key_of",
    "values_at",
]


@dataclass(frozen=True)
class Link:
    """A link table of (parent id, member id) pairs, one set per parent record."""

    table: str
    parent: str
    """Column holding the parent's id (the parent key)."""
    member: str
    """Column holding the member's id."""
    members: MemberPath
    """Where a record lists its members (when no fuller list is supplied)."""

    @property
    def fields(self) -> tuple[Field, Field]:
        return (field(self.parent, nullable=False), field(self.member, nullable=False))

    def spec(self) -> TableSpec:
        return table_spec(
            self.table, self.fields, primary_key=(self.parent, self.member), parent_key=self.parent
        )

    def rows(
        self, parents: pl.Series, lists: pl.Series, full: Mapping[Any, Sequence[Any]] | None
    ) -> pl.DataFrame:
        """The link rows of the records `parents`, from their decoded member `lists`; `full`
        replaces a record's own list (`{parent id: every member}`) where it has one."""
        values = (
            lists
            if self.members.key is None
            else lists.list.eval(pl.element().struct.field(self.members.key))
        )
        pairs = pl.DataFrame({self.parent: parents, self.member: values})
        if full:
            pairs = pairs.filter(~pl.col(self.parent).is_in(list(full)))
        # empty and missing lists have no rows; a null inside a list stays (and is refused)
        rows = pairs.filter(pl.col(self.member).list.len() > 0).explode(self.member)
        if full:
            listed = [(parent, m) for parent, ids in full.items() for m in ids]
            extra = pl.DataFrame(
                {self.parent: [str(p) for p, _ in listed], self.member: [m for _, m in listed]},
                schema={self.parent: pl.String, self.member: pl.String},
                strict=False,
            )
            rows = pl.concat([rows, extra])
        return rows


@dataclass(frozen=True)
class Shape:
    """An entity table and the link tables filled from the same records."""

    table: str
    fields: tuple[Field, ...]
    links: tuple[Link, ...] = ()
    key: str = "id"

    def specs(self) -> tuple[TableSpec, ...]:
        entity = table_spec(self.table, self.fields, primary_key=(self.key,))
        return (entity, *(link.spec() for link in self.links))

    def frames(
        self,
        raws: Sequence[RawRecord],
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None = None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
        """Frames per table, plus the parents each link frame covers (every record's id).

        `full` maps a link table to `{parent id: every member}` for records whose embedded
        list is incomplete (Intercom embeds at most 10 items).
        """
        members = tuple(link.members for link in self.links)
        entity, lists = read(self.table, raws, self.fields, members)
        return self._link(entity, lists, full)

    def _link(
        self,
        entity: pl.DataFrame,
        lists: pl.DataFrame,
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
        frames = {self.table: entity}
        parents: dict[str, pl.Series] = {}
        ids = entity.get_column(self.key)
        for n, link in enumerate(self.links):
            listed = (full or {}).get(link.table)
            if lists.width:
                frames[link.table] = link.rows(ids, lists.get_column(str(n)), listed)
            else:
                frames[link.table] = empty_frame(link.fields).drop("_raw")
            parents[link.table] = ids
        return frames, parents

    def fitted(
        self,
        raws: Sequence[RawRecord],
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None = None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series], list[Misfit]]:
        """`frames` of the records the tables can hold, and the `Misfit`s: records with a
        value of another type than its column's, that are not JSON, or with a null (or
        absent) value in a column declared non-nullable (the key). One read of the batch
        when every record fits; `full`'s lists of misfits are left out."""
        fields, members = self.fields, tuple(link.members for link in self.links)
        misfits: dict[int, Misfit] = {}
        try:
            entity, lists = read(self.table, raws, fields, members, explain=False)
            kept = list(range(len(raws)))
        except ShapeError:
            plan = read_plan(fields, members)
            for n in unreadable(self.table, raws, fields, members):
                found = diagnose(self.table, raws[n], fields, plan)
                path, error = found or ("", f"{self.table}: a record cannot be read as declared")
                misfits[n] = Misfit(key_of(raws[n], self.key), path, error, raws[n])
            kept = [n for n in range(len(raws)) if n not in misfits]
            entity, lists = read(self.table, [raws[n] for n in kept], fields, members)
        unfit = pl.repeat(False, entity.height, eager=True)
        for f in fields:
            if f.nullable:
                continue
            nulls = entity.get_column(f.column).is_null()
            for row in nulls.arg_true().to_list():
                n = kept[row]
                key = key_of(raws[n], self.key)
                path = ".".join(f.path) or f.column
                who = f"record {key!r}" if key is not None else "a record"
                why = "it cannot be keyed" if f.column == self.key else "it is required"
                error = (
                    f"{self.table}: {who} has no {path} (null or absent), which column"
                    f" {f.column!r} (not null) cannot hold: {why}"
                )
                misfits.setdefault(n, Misfit(key, path, error, raws[n]))
            unfit = unfit | nulls
        if unfit.any():
            entity, lists = entity.filter(~unfit), lists.filter(~unfit) if lists.width else lists
        if misfits and full:
            ids = set(entity.get_column(self.key).cast(pl.String).to_list())
            full = {
                table: {p: m for p, m in listed.items() if str(p) in ids}
                for table, listed in full.items()
            }
        frames, parents = self._link(entity, lists, full)
        return frames, parents, [misfits[n] for n in sorted(misfits)]

    def read(self, raws: Sequence[RawRecord]) -> pl.DataFrame:
        """The entity frame alone (typed columns and `_raw`)."""
        return read(self.table, raws, self.fields, ())[0]
