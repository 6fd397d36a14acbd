"""A faithful local Intercom REST API 2.14: a generated workspace, simulated time, faults.

```python
from intercom_assets.sandbox import Sandbox, FaultConfig
sb = Sandbox(size="tiny", seed=1, timezone="UTC")
with httpx.Client(transport=sb.transport(), base_url=sb.base_url) as client: ...
sb.advance(days=1)        # -> ChangeLog; sb.truth() -> the ground truth
```

`Sandbox.truth()` returns a JSON-able dict, every list sorted by id:

- `now` (unix seconds of the simulated clock), `timezone` (IANA name)
- `admins`, `teams`, `tags`: as `GET /admins`, `/teams`, `/tags` list them
- `segments`: as `GET /segments?include_count=true` (with `count`)
- `data_attributes`: all three models (contact, company, conversation), archived included
- `companies`: as the scroll and `GET /companies/{id}` return them
- `contacts`: as `GET /contacts/{id}` returns them (embedded tags/companies/notes cut to 10)
- `contact_tags`, `contact_companies`: `{contact_id: [every tag / company id]}`
- `conversations`: as search returns them (no parts)
- `conversation_parts`: `{conversation_id: [parts as GET returns them: the 500 newest]}`
- `conversation_part_counts`: `{conversation_id: true number of parts}`
- `all_conversation_parts`: `{conversation_id: [every part, oldest first]}` (the API returns
  only the newest 500; the same keys for tickets: `ticket_parts`, `ticket_part_counts`,
  `all_ticket_parts`)
- `conversation_companies`: `{conversation_id: company id or null}`: the `company` 2.15 on
  sends (`{"type": "company", "id"}`, `sandbox/versions.py`)
- `ticket_previous_state_ids`: `{ticket_id: state id or null}`: 2.16's
  `previous_ticket_state_id`
- `events`: `{contact_id: [events listable now (younger than 90 days), newest first]}`;
  contacts without listable events are left out
- `deleted_contact_ids`, `archived_contact_ids`, `merged_contact_ids` (`{source: target}`),
  `contact_merges` (`{source: {target_id, source_contact_role, merged_at}}`: each merge as
  its target's 2.16 merge history tells it, `merged_at` the sandbox clock at the merge),
  `deleted_company_ids`, `deleted_admin_ids`, `deleted_tag_ids`, `deleted_segment_ids`,
  `deleted_team_ids`, `deleted_conversation_ids`, `deleted_conversations` (as the 2.16
  `GET /conversations/deleted` lists them)
- plus the keys of any resource added with `Sandbox(resources=[*DEFAULT_RESOURCES, ...])`
"""

from intercom_assets.sandbox.churn import ChangeLog, Churn, Churning
from intercom_assets.sandbox.faults import FaultConfig
from intercom_assets.sandbox.permissions import ALL_PERMISSIONS
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.resources import DEFAULT_RESOURCES
from intercom_assets.sandbox.sandbox import DEFAULT_START, Sandbox, start_time

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_RESOURCES",
    "DEFAULT_START",
    "ChangeLog",
    "Churn",
    "Churning",
    "FaultConfig",
    "Generation",
    "Resource",
    "Sandbox",
    "start_time",
]
