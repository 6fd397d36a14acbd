"""The code location's sensors, one module each:

- `changes`: the change sensor (intraday loads of the windowed streams that changed);
- `freshness`: the stream assets' freshness policy and the alert sensor that posts the
  transitions of Dagster's freshness states (the ones the UI shows);
- `run_failures`: the alert sensor that posts each failed run;
- `webhook`: posting an alert with retries inside one tick.

Message formats: `intercom_assets.alerts`.
"""

from intercom_assets.sensors.changes import CHANGE_SENSOR, ProbeFailed, build_change_sensor
from intercom_assets.sensors.freshness import (
    FRESHNESS_ALERT_SENSOR,
    build_freshness_alert_sensor,
    freshness_policy,
)
from intercom_assets.sensors.run_failures import (
    RUN_FAILURE_SENSOR,
    AlertNotSent,
    build_run_failure_sensor,
)

__all__ = [
    "CHANGE_SENSOR",
    "FRESHNESS_ALERT_SENSOR",
    "RUN_FAILURE_SENSOR",
    "AlertNotSent",
    "ProbeFailed",
    "build_change_sensor",
    "build_freshness_alert_sensor",
    "build_run_failure_sensor",
    "freshness_policy",
]
