"""News (newsfeeds and news items, with the feeds each item is published in) against the
sandbox's truth: the snapshots follow written, edited, published and deleted news items."""

from intercom_assets_tests.oracle import assert_matches_truth

from .conftest import Harness

NEWS = ("newsfeeds", "news_items")


def test_news_follow_every_change(harness: Harness):
    for name in NEWS:
        harness.run(name)
    truth = harness.sb.truth()
    assert truth["newsfeeds"] and truth["news_items"]
    assert any(item["newsfeed_assignments"] for item in truth["news_items"])
    assert_matches_truth(harness.warehouse, truth, streams=NEWS)
    log = harness.sb.advance(days=30)
    for kind in ("news_items_created", "news_items_updated", "news_items_deleted"):
        assert log.counts[kind] > 0, log.counts
    for name in NEWS:
        assert harness.run(name).pages == 1  # each list is one page, as Intercom serves it
    truth = harness.sb.truth()
    assert_matches_truth(harness.warehouse, truth, streams=NEWS)
    assert harness.warehouse.count_live("news_items") == len(truth["news_items"])
    links = sum(len(item["newsfeed_assignments"]) for item in truth["news_items"])
    assert harness.warehouse.count_live("news_item_newsfeeds") == links
