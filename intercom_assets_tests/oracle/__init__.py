"""An oracle for the warehouse, independent of the loader: expected rows come from the truth
JSON through the declarations in `columns.py` (nothing imported from `intercom_assets.streams`
or the warehouse's specs); stored rows are read with plain SQL (`stored.py`).

```python
from intercom_assets_tests.oracle import assert_matches_truth, differences

assert_matches_truth(warehouse, sb.truth(), streams=["contacts"])   # raises, first 40 shown
for d in differences(warehouse, sb.truth()):                        # the same, as data
    d.table, d.id, d.column, d.expected, d.found, d.kind             # missing / extra / changed
```
"""

from .calls import SUBLIST_MAX_PAGE, sublist_calls
from .columns import NOT_NULL, STREAM_TABLES, TABLES, OracleError, ts
from .compare import Difference, assert_matches_truth, differences, format_differences

__all__ = [
    "NOT_NULL",
    "STREAM_TABLES",
    "SUBLIST_MAX_PAGE",
    "TABLES",
    "Difference",
    "OracleError",
    "assert_matches_truth",
    "differences",
    "format_differences",
    "sublist_calls",
    "ts",
]
