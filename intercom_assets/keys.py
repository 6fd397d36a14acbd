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
