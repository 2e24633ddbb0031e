"""Clients: organizations (client accounts) and the contacts who write to us."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.models.base import Base, email_column, tenant_fk


class Organization(Base):
    """A client account; contacts whose address is of its domains belong to it."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(200))
    # Whether members may see each other's tickets in the portal.
    shared_tickets: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime]

    domains: Mapped[list[OrganizationDomain]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class OrganizationDomain(Base):
    """An e-mail domain that maps contacts to an organization, unique per tenant."""

    __tablename__ = "organization_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253))

    organization: Mapped[Organization] = relationship(back_populates="domains")

    __table_args__ = (
        UniqueConstraint("tenant_id", "domain"),
        Index("ix_organization_domains_organization", "organization_id"),
    )


class Contact(Base):
    """A client person; may have several e-mail addresses."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(200), default="")
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    portal_access: Mapped[bool] = mapped_column(default=True)
    blocked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactEmail.id"
    )

    @property
    def primary_email(self) -> str:
        for entry in self.emails:
            if entry.is_primary:
                return entry.email
        return self.emails[0].email if self.emails else ""

    __table_args__ = (Index("ix_contacts_tenant_organization", "tenant_id", "organization_id"),)


class ContactEmail(Base):
    """One address of a contact; an address belongs to one contact per tenant."""

    __tablename__ = "contact_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    email: Mapped[str] = email_column()
    is_primary: Mapped[bool] = mapped_column(default=False)
    # Set when mail to this address hard-bounced; cleared when it is fixed.
    bounced_at: Mapped[datetime | None]
    # What the bounce said (the status code and the server's diagnostic).
    bounce_reason: Mapped[str | None] = mapped_column(Text)

    contact: Mapped[Contact] = relationship(back_populates="emails")

    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        Index("ix_contact_emails_contact", "contact_id"),
    )
