"""The data model: one module per aggregate, all sharing one metadata."""

from helpdesk.models.access import ApiToken, ClientToken, SignInLink
from helpdesk.models.activity import ContactTicketRead, Notification, UserTicketRead
from helpdesk.models.base import Base
from helpdesk.models.catalog import CannedResponse, Category, CustomFieldDefinition
from helpdesk.models.contact import Contact, ContactEmail, Organization, OrganizationDomain
from helpdesk.models.event import TicketEvent
from helpdesk.models.inbound import AutoAnswer, RawMessage, ThreadReference
from helpdesk.models.mailbox import Mailbox, MailboxHealth
from helpdesk.models.message import Attachment, Message
from helpdesk.models.outbox import OutboxEvent
from helpdesk.models.sla import BusinessCalendar, SlaPolicy
from helpdesk.models.tenant import Tenant
from helpdesk.models.ticket import (
    Ticket,
    TicketLink,
    TicketParticipant,
    TicketTag,
    TicketWatcher,
)
from helpdesk.models.user import Membership, Team, TeamMember, User

__all__ = [
    "ApiToken",
    "Attachment",
    "AutoAnswer",
    "Base",
    "BusinessCalendar",
    "CannedResponse",
    "Category",
    "ClientToken",
    "Contact",
    "ContactEmail",
    "ContactTicketRead",
    "CustomFieldDefinition",
    "Mailbox",
    "MailboxHealth",
    "Membership",
    "Message",
    "Notification",
    "Organization",
    "OrganizationDomain",
    "OutboxEvent",
    "RawMessage",
    "SignInLink",
    "SlaPolicy",
    "Team",
    "TeamMember",
    "Tenant",
    "ThreadReference",
    "Ticket",
    "TicketEvent",
    "TicketLink",
    "TicketParticipant",
    "TicketTag",
    "TicketWatcher",
    "User",
    "UserTicketRead",
]
