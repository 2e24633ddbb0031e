"""The vocabulary of states and kinds, the same words in models, API and docs."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CLIENT = "waiting_on_client"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Source(StrEnum):
    EMAIL = "email"
    PORTAL = "portal"
    CONSOLE = "console"
    API = "api"


class Role(StrEnum):
    """A staff member's role within one tenant."""

    ADMIN = "admin"
    AGENT = "agent"
    LIGHT_AGENT = "light_agent"


class AuthorType(StrEnum):
    CLIENT = "client"
    AGENT = "agent"
    SYSTEM = "system"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class DeliveryState(StrEnum):
    """Where an outbound copy of a message stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"


class LinkKind(StrEnum):
    """Why one ticket points at another (an incident parent is `Ticket.parent_id`)."""

    FOLLOW_UP = "follow_up"
    RELATED = "related"


class CustomFieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"
    CHECKBOX = "checkbox"


class RawMessageState(StrEnum):
    """Where a stored inbound e-mail stands."""

    RECEIVED = "received"
    PROCESSED = "processed"  # it landed on a ticket (or recorded a bounce)
    QUARANTINED = "quarantined"  # it could not be processed; kept for a person
    HELD = "held"  # kept, waiting for a person: over a limit, or a blocked sender
    IGNORED = "ignored"  # processed, opened nothing: an auto-reply, a loop, spam


class MailKind(StrEnum):
    """What an inbound message is, decided by the mail pipeline; only NORMAL opens tickets."""

    NORMAL = "normal"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LOOP = "loop"  # our own outbound mail coming back
    SPAM = "spam"  # flagged by an upstream filter


class ThreadRule(StrEnum):
    """Which rule of CONTRACT §4 threaded an inbound message (first match wins)."""

    TOKEN = "token"  # noqa: S105
    HEADER = "header"
    SUBJECT_TAG = "subject_tag"
    NEW = "new"


class SenderStanding(StrEnum):
    """How the sender of an inbound message relates to the ticket it threads to."""

    REQUESTER = "requester"
    PARTICIPANT = "participant"
    AGENT = "agent"  # a staff member of the tenant, proven by token or DMARC
    UNPROVEN_AGENT = "unproven_agent"  # an agent's address without proof: held as a note
    ORGANIZATION = "organization"  # of the requester's organization: joins as participant
    PENDING = "pending"  # anyone else: held for an agent to accept
    # A genuine token, but issued to someone else.
    TOKEN_OTHER_RECIPIENT = "token_other_recipient"  # noqa: S105
    NEW = "new"  # opens a new ticket


class OutboxState(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    DONE = "done"
    FAILED = "failed"


class EventKind(StrEnum):
    """Entries of a ticket's audit trail."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    PRIORITY_CHANGED = "priority_changed"
    CATEGORY_CHANGED = "category_changed"
    SUBJECT_CHANGED = "subject_changed"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    TEAM_CHANGED = "team_changed"
    TAGS_CHANGED = "tags_changed"
    CUSTOM_FIELDS_CHANGED = "custom_fields_changed"
    WATCHER_ADDED = "watcher_added"
    WATCHER_REMOVED = "watcher_removed"
    PARTICIPANT_ADDED = "participant_added"
    PARTICIPANT_REMOVED = "participant_removed"
    MESSAGE_ADDED = "message_added"
    NOTE_ADDED = "note_added"
    ATTACHMENT_ADDED = "attachment_added"
    MERGED = "merged"
    MERGED_FROM = "merged_from"
    LINKED = "linked"
    UNLINKED = "unlinked"
    REOPENED = "reopened"
    FOLLOW_UP_CREATED = "follow_up_created"
    SATISFACTION_RATED = "satisfaction_rated"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    DELIVERY_FAILED = "delivery_failed"
    MESSAGE_HELD = "message_held"
    HELD_MESSAGE_ACCEPTED = "held_message_accepted"
    HELD_MESSAGE_REJECTED = "held_message_rejected"
    MESSAGE_MOVED = "message_moved"
    MESSAGE_SPLIT = "message_split"
    AUTO_REPLY_RECEIVED = "auto_reply_received"
