"""Asset keys: one per warehouse table, `intercom/<table>`.

A stream's entity table is named after the stream (`contacts`), so the stream's main asset
keeps the key it always had (`intercom/contacts`); its other tables get their own
(`intercom/contact_tags`, `intercom/contact_merges`, ...). All are in group `intercom`.
"""

import dagster as dg

GROUP = "intercom"


def table_key(table: str) -> dg.AssetKey:
    """The asset key of a warehouse table: `intercom/<table>`."""
    return dg.AssetKey([GROUP, table])


def asset_key(stream_name: str) -> dg.AssetKey:
    """The asset key of a stream's entity table (named after the stream)."""
    return table_key(stream_name)


def op_name(stream_name: str) -> str:
    """The name of the step that runs a stream (`intercom__contacts`): the key of run config
    `ops` and of the step in the UI."""
    return asset_key(stream_name).to_python_identifier()


def referenced_table(column: str) -> str | None:
    """The entity table a `<name>_id` column points to by name (`tag_id` -> `tags`,
    `company_id` -> `companies`); None for another column."""
    if not column.endswith("_id") or column == "_id":
        return None
    name = column.removesuffix("_id")
    return f"{name[:-1]}ies" if name.endswith("y") else f"{name}s"
