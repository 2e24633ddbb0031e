"""The line above which a client types a reply to our mail.

Outbound mail will put this line at the top of every notification, and the
inbound quotes step cuts a reply there: everything from the marker line down is
our own notification coming back as quoted history. It is plain ASCII so that
every mail client quotes it unchanged.
"""

from __future__ import annotations

REPLY_ABOVE_THIS_LINE = "##- Please type your reply above this line -##"
