"""Subscription types, the help center and the activity logs draw from random sources of their
own: the workspace without them is the same workspace, record for record, before and after the
clock moves."""

from intercom_assets.sandbox import Sandbox
from intercom_assets.sandbox.resources import DEFAULT_RESOURCES
from intercom_assets.sandbox.resources.activity_logs import ActivityLogs
from intercom_assets.sandbox.resources.help_center import HelpCenter
from intercom_assets.sandbox.resources.subscription_types import SubscriptionTypes

OWN = (SubscriptionTypes, HelpCenter, ActivityLogs)


def test_the_other_resources_are_unchanged_by_them():
    full = Sandbox(size="tiny", seed=5)
    without = Sandbox(size="tiny", seed=5, resources=[r for r in DEFAULT_RESOURCES if r not in OWN])
    for _ in range(3):
        a, b = full.truth(), without.truth()
        assert {k: v for k, v in a.items() if k in b} == b
        assert a["articles"] and a["activity_logs"] and a["subscription_types"]
        log_a, log_b = full.advance(days=2), without.advance(days=2)
        assert {k: v for k, v in log_a.ids.items() if k in log_b.ids} == log_b.ids


def test_same_seed_same_workspace():
    one, two = Sandbox(size="tiny", seed=9), Sandbox(size="tiny", seed=9)
    one.advance(days=3)
    two.advance(days=3)
    assert one.truth() == two.truth()
    other = Sandbox(size="tiny", seed=10)
    assert other.truth()["articles"] != Sandbox(size="tiny", seed=9).truth()["articles"]
