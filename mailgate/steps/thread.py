"""Thread: which ticket a message belongs to, by the rules of CONTRACT §4, and why."""

from __future__ import annotations

from dataclasses import replace

from helpdesk.addresses import domain_of
from helpdesk.reply_tokens import ParsedToken, ReplyTokens, Verdict, find_tokens, parse_token
from helpdesk.subject_tags import foreign_references, our_tag_numbers
from mailgate.inbound import InboundMessage, SenderStanding, ThreadMatch, ThreadRule
from mailgate.ports import ThreadIndex, TicketPeople, TicketRef

# A merged ticket points at the one it was merged into; mail follows the chain.
_MAX_MERGE_HOPS = 8
# Distinct reply tokens looked at per message: a reply carries one, a thread a few.
_MAX_TOKENS = 16
# The standings whose subject tags are believed: those who take part in the
# ticket, and an agent's address without proof (its mail is held as a note for
# that agent to confirm, never posted).
_TAKES_PART = frozenset(
    {
        SenderStanding.REQUESTER,
        SenderStanding.PARTICIPANT,
        SenderStanding.AGENT,
        SenderStanding.UNPROVEN_AGENT,
    }
)


def find_thread(msg: InboundMessage, *, index: ThreadIndex, tokens: ReplyTokens) -> InboundMessage:
    """Decide the ticket: reply token, then known Message-IDs, then subject tag, else new."""
    if msg.route is None:
        return msg
    finder = _Finder(msg, index, tokens)
    match = finder.by_token() or finder.by_headers() or finder.by_subject_tag() or finder.new()
    refs = tuple(ref for ref in foreign_references(msg.subject) if ref not in finder.our_tags)
    foreign = tuple(f"[#{n}]" for n in finder.foreign_numbers)
    return replace(msg, thread=match, external_refs=foreign + refs)


class _Finder:
    """The rules of one message; each returns a match or None (first match wins)."""

    def __init__(self, msg: InboundMessage, index: ThreadIndex, tokens: ReplyTokens) -> None:
        assert msg.route is not None  # noqa: S101 - checked by the caller
        self.msg = msg
        self.index = index
        self.tokens = tokens
        self.tenant_id = msg.route.tenant_id
        self.sender = msg.sender_address
        self.agent_id = index.agent_for(self.tenant_id, self.sender) if self.sender else None
        # Several rules may look at one ticket; who takes part in it is asked once.
        self.people_of: dict[int, TicketPeople] = {}
        self.our_tags: set[str] = set()
        self.foreign_numbers: list[int] = []
        self.ignored: list[str] = []

    def by_token(self) -> ThreadMatch | None:
        for token, where in self._tokens():
            ticket = self._ticket(token.ticket_id)
            if ticket is None:
                self.ignored.append(f"a token in {where} names no ticket of this tenant")
                continue
            people = self._people(ticket.id)
            known = people.everyone | people.pending
            verdict = self.tokens.check(token, self.tenant_id, self.sender, known)
            if verdict is Verdict.INVALID:
                self.ignored.append(f"a token in {where} did not verify for {self.sender}")
                continue
            return self._token_match(ticket, people, verdict, where)
        return None

    def by_headers(self) -> ThreadMatch | None:
        # A message someone on a ticket already answered is checked first: its
        # sender is in that conversation, whatever else it references.
        if self.msg.message_id:
            awaited = self.index.ticket_awaiting(self.tenant_id, self.msg.message_id)
            if awaited is not None:
                evidence = (
                    f"its Message-ID <{self.msg.message_id}> was named by a reply "
                    "that arrived before it"
                )
                return self._awaited(self._survivor(awaited), evidence)
        found = self.index.ticket_for_message_ids(self.tenant_id, self.msg.thread_ids)
        if found is not None:
            ticket, message_id = found
            evidence = f"In-Reply-To/References name <{message_id}>, known on this ticket"
            return self._joined(ThreadRule.HEADER, self._survivor(ticket), evidence)
        return None

    def by_subject_tag(self) -> ThreadMatch | None:
        for number in our_tag_numbers(self.msg.subject):
            ticket = self.index.ticket_by_number(self.tenant_id, number)
            standing = None
            if ticket is not None:
                ticket = self._survivor(ticket)
                standing = self._standing(self._people(ticket.id), proven=False)
            if ticket is None or standing not in _TAKES_PART:
                # Anyone can write "[#12]": from a stranger it is a reference
                # to something else (another helpdesk's ticket), never ours.
                self.foreign_numbers.append(number)
                continue
            self.our_tags.add(f"[#{number}]")
            evidence = f"subject tag [#{number}] and the sender takes part ({standing.value})"
            return self._match(ThreadRule.SUBJECT_TAG, ticket, standing, evidence)
        return None

    def new(self) -> ThreadMatch:
        evidence = "no token, known Message-ID or subject tag of a ticket the sender takes part in"
        if self.ignored:
            evidence += "; " + "; ".join(self.ignored)
        return ThreadMatch(ThreadRule.NEW, None, SenderStanding.NEW, evidence, self.agent_id)

    def _tokens(self) -> list[tuple[ParsedToken, str]]:
        # A reply carries one token in several places, named here by the first;
        # a mail stuffed with tokens costs a lookup for only the first few.
        found: dict[ParsedToken, str] = {}
        assert self.msg.route is not None  # noqa: S101
        for tag in self.msg.route.recipient_tags:
            parsed = parse_token(tag)
            if parsed is not None:
                found.setdefault(parsed, "the recipient address")
        for message_id in self.msg.thread_ids:
            for token in find_tokens(message_id):
                found.setdefault(token, "a Message-ID we sent")
        for token in find_tokens(self.msg.text + "\n" + self.msg.html):
            found.setdefault(token, "the reply marker in the body")
        return list(found.items())[:_MAX_TOKENS]

    def _token_match(
        self, ticket: TicketRef, people: TicketPeople, verdict: Verdict, where: str
    ) -> ThreadMatch:
        evidence = f"a reply token in {where}"
        if verdict is Verdict.VALID:
            # The token proves the sender: it was issued to this very address.
            standing = self._standing(people, proven=True)
            if standing in {SenderStanding.PENDING, SenderStanding.ORGANIZATION}:
                standing = SenderStanding.PARTICIPANT
            return self._match(ThreadRule.TOKEN, ticket, standing, evidence + ", issued to them")
        standing = self._standing(people, proven=False)
        if standing is SenderStanding.PENDING:
            standing = SenderStanding.TOKEN_OTHER_RECIPIENT
        evidence += ", issued to another recipient of this ticket"
        return self._match(ThreadRule.TOKEN, ticket, standing, evidence)

    def _awaited(self, ticket: TicketRef, evidence: str) -> ThreadMatch:
        # Someone on the ticket answered this very message, so its sender is in
        # the conversation: what arrived first is only an accident of delivery.
        standing = self._standing(self._people(ticket.id), proven=False)
        if standing in {SenderStanding.PENDING, SenderStanding.ORGANIZATION}:
            standing = SenderStanding.PARTICIPANT
        return self._match(ThreadRule.HEADER, ticket, standing, evidence)

    def _joined(self, rule: ThreadRule, ticket: TicketRef, evidence: str) -> ThreadMatch:
        standing = self._standing(self._people(ticket.id), proven=False)
        return self._match(rule, ticket, standing, evidence)

    def _match(
        self, rule: ThreadRule, ticket: TicketRef, standing: SenderStanding, evidence: str
    ) -> ThreadMatch:
        return ThreadMatch(rule, ticket.id, standing, evidence, self.agent_id)

    def _standing(self, people: TicketPeople, *, proven: bool) -> SenderStanding:
        if self.agent_id is not None:
            # An agent's address is easy to forge: it counts as the agent only
            # with a token issued to it or an aligned DMARC pass we verified.
            aligned = self.msg.dmarc_pass_domain == domain_of(self.sender)
            return SenderStanding.AGENT if proven or aligned else SenderStanding.UNPROVEN_AGENT
        if self.sender in people.requester:
            return SenderStanding.REQUESTER
        if self.sender in people.participants:
            return SenderStanding.PARTICIPANT
        if self.sender and domain_of(self.sender) in people.organization_domains:
            return SenderStanding.ORGANIZATION
        return SenderStanding.PENDING

    def _people(self, ticket_id: int) -> TicketPeople:
        if ticket_id not in self.people_of:
            self.people_of[ticket_id] = self.index.people(ticket_id)
        return self.people_of[ticket_id]

    def _ticket(self, ticket_id: int) -> TicketRef | None:
        ticket = self.index.ticket(self.tenant_id, ticket_id)
        return None if ticket is None else self._survivor(ticket)

    def _survivor(self, ticket: TicketRef) -> TicketRef:
        for _ in range(_MAX_MERGE_HOPS):
            if ticket.merged_into_id is None:
                break
            target = self.index.ticket(self.tenant_id, ticket.merged_into_id)
            if target is None:
                break
            ticket = target
        return ticket
