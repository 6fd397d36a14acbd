"""The sandbox's built-in resources, one module each, in generation order."""

from intercom_assets.sandbox.resource import Resource
from intercom_assets.sandbox.resources.activity_logs import ActivityLogs
from intercom_assets.sandbox.resources.admins import Admins
from intercom_assets.sandbox.resources.companies import Companies
from intercom_assets.sandbox.resources.company_notes import CompanyNotes
from intercom_assets.sandbox.resources.contacts import Contacts
from intercom_assets.sandbox.resources.conversations import Conversations
from intercom_assets.sandbox.resources.data_attributes import DataAttributes
from intercom_assets.sandbox.resources.events import Events
from intercom_assets.sandbox.resources.help_center import HelpCenter
from intercom_assets.sandbox.resources.news import News
from intercom_assets.sandbox.resources.segments import Segments
from intercom_assets.sandbox.resources.subscription_types import SubscriptionTypes
from intercom_assets.sandbox.resources.tags import Tags
from intercom_assets.sandbox.resources.tickets import Tickets

DEFAULT_RESOURCES: tuple[type[Resource], ...] = (
    Admins,
    Tags,
    Segments,
    DataAttributes,
    Companies,
    Contacts,
    Conversations,
    Events,
    Tickets,
    CompanyNotes,
    SubscriptionTypes,
    HelpCenter,
    ActivityLogs,
    News,
)
"""A resource comes after those its generator reads (contacts pick companies and tags)."""

__all__ = ["DEFAULT_RESOURCES"]
