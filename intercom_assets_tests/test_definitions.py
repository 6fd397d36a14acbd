import dagster as dg

from intercom_assets.definitions import defs


def test_definitions_load_and_validate() -> None:
    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)
