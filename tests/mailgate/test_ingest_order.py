"""Order does not matter: the same conversations imported in any order end on the same tickets."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.engine import Engine

from helpdesk.models import Message
from helpdesk.principal import Operator
from helpdesk.services.mailboxes import create_mailbox, credentials_box
from helpdesk.settings import Settings
from tests.factories import NOW, make_tenant
from tests.mailgate.desk import Desk, build_desk, mail

SHUFFLES = 12


def conversations(domain: str) -> dict[str, list[bytes]]:
    """Three threads; two share a requester, one has a CC'd colleague who answers."""
    to = f"support@{domain}"
    ann, bob, carl = (
        "Ann <ann@client.example>",
        "Bob <bob@partner.example>",
        "Carl <carl@third.example>",
    )
    return {
        "printer": [
            mail(ann, "Printer on fire", to=to, cc=bob, message_id="<p1@client.example>"),
            mail(ann, "Re: Printer on fire", "Still burning.", to=to,
                 message_id="<p2@client.example>", in_reply_to="<p1@client.example>",
                 references="<p1@client.example>"),
            mail(bob, "Re: Printer on fire", "Extinguisher used.", to=to,
                 message_id="<p3@partner.example>", in_reply_to="<p2@client.example>",
                 references="<p1@client.example> <p2@client.example>"),
        ],
        "invoice": [
            mail(carl, "Invoice 2025-03 wrong", to=to, message_id="<i1@third.example>"),
            mail(carl, "Re: Invoice 2025-03 wrong", "Any news?", to=to,
                 message_id="<i2@third.example>", in_reply_to="<i1@third.example>"),
        ],
        "vpn": [
            mail(ann, "VPN down", to=to, message_id="<v1@client.example>"),
            mail(ann, "Re: VPN down", "Works again, thanks.", to=to,
                 message_id="<v2@client.example>", in_reply_to="<v1@client.example>",
                 references="<v1@client.example>"),
        ],
    }  # fmt: skip


def test_any_import_order_gives_the_same_tickets(settings: Settings, engine: Engine) -> None:
    desk = build_desk(settings, engine)
    rng = random.Random(20250303)
    for round_ in range(SHUFFLES):
        tenant_id, domain = _fresh_tenant(desk, round_)
        threads = conversations(domain)
        batch = [(name, data) for name, mails in threads.items() for data in mails]
        rng.shuffle(batch)
        tickets: dict[str, set[int | None]] = {name: set() for name in threads}
        for name, data in batch:
            [result] = desk.send(data, f"support@{domain}")
            assert result.action != "quarantined", result
            tickets[name].add(result.ticket_id)
        order = [name for name, _ in batch]
        assert all(len(ids) == 1 for ids in tickets.values()), (order, tickets)
        assert len(set.union(*tickets.values())) == len(threads), order
        # A colleague's reply that came before the mail copying them waited
        # on the ticket; that mail, when it came, vouched for them.
        public = _public_messages(desk, tenant_id)
        assert public == len(batch), order


def _fresh_tenant(desk: Desk, round_: int) -> tuple[int, str]:
    def create(session: object) -> tuple[int, str]:
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        tenant = make_tenant(session, f"order-{round_}")
        domain = f"order-{round_}.test"
        box = credentials_box(desk.settings.secret_key)
        create_mailbox(
            session, Operator(), tenant.id, address=f"support@{domain}", box=box, now=NOW
        )
        return tenant.id, domain

    result: tuple[int, str] = desk.run(create)
    return result


def _public_messages(desk: Desk, tenant_id: int) -> int:
    def count(session: object) -> int:
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        query = select(Message.id).where(
            Message.tenant_id == tenant_id, Message.visibility == "public"
        )
        return len(session.scalars(query).all())

    result: int = desk.run(count)
    return result
