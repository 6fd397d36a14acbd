"""Kept for imports from other branches: the oracle lives in `intercom_assets_tests.oracle`."""

from intercom_assets_tests.oracle import (
    Difference,
    assert_matches_truth,
    differences,
    sublist_calls,
    ts,
)

__all__ = ["Difference", "assert_matches_truth", "differences", "sublist_calls", "ts"]
