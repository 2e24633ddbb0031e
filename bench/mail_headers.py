"""Trace and client headers for the mail mix, shaped like Gmail's, Outlook's and Postfix's."""

from __future__ import annotations

import random
from datetime import datetime
from email.utils import format_datetime

SUPPORT = "support@acme.test"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def trace_headers(
    rng: random.Random, address: str, client: str, when: datetime
) -> list[tuple[str, str]]:
    """Return the headers above From: our MTA's, the sender's provider's, the signatures."""
    domain = address.split("@")[1]
    stamp = format_datetime(when)
    queue = "".join(rng.choices("0123456789ABCDEF", k=10))
    ip = f"203.0.113.{rng.randrange(1, 254)}"
    headers = [
        ("Return-Path", f"<{address}>"),
        ("Delivered-To", SUPPORT),
        ("Received", f"from mx.acme.test (localhost [127.0.0.1]) by mail.acme.test (Postfix) "
                     f"with ESMTP id {queue} for <{SUPPORT}>; {stamp}"),
        ("Authentication-Results", f"mx.acme.test; dkim=pass (2048-bit key) header.d={domain} "
                                   f"header.s=s1 header.b={_b64(rng, 8)}; spf=pass "
                                   f"smtp.mailfrom={address}; dmarc=pass header.from={domain}"),
        ("Received", f"from mail-out.{domain} (mail-out.{domain} [{ip}]) by mx.acme.test "
                     f"(Postfix) with ESMTPS id {queue[::-1]} for <{SUPPORT}>; {stamp}"),
    ]  # fmt: skip
    if client == "outlook":
        return headers + _outlook(rng, domain, stamp)
    return headers + _gmail_like(rng, domain, stamp)


def folded(headers: list[tuple[str, str]]) -> bytes:
    """Return headers as an MTA prepends them: ASCII, folded at spaces near 78 columns, CRLF."""
    return b"".join(_fold(f"{name}: {value}").encode("ascii") for name, value in headers)


def _fold(line: str) -> str:
    lines, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > 78:
            lines.append(current)
            current = "\t" + word
        else:
            current = f"{current} {word}" if current else word
    return "\r\n".join([*lines, current]) + "\r\n"


def client_headers(rng: random.Random, client: str, subject: str) -> list[tuple[str, str]]:
    """Return the headers each mail client adds below Message-ID."""
    if client == "outlook":
        index = "AQHa" + "".join(rng.choices(_B64[:62], k=24))
        return [("Thread-Topic", subject), ("Thread-Index", index), ("Accept-Language",
                "en-US, de-DE"), ("Content-Language", "en-US"), ("X-MS-Has-Attach", ""),
                ("X-MS-TNEF-Correlator", "")]  # fmt: skip
    if client == "apple":
        return [("X-Mailer", "Apple Mail (2.3774.500.171.1.1)")]
    if client == "thunderbird":
        return [("User-Agent", "Mozilla Thunderbird"), ("Content-Language", "en-US")]
    return []


def _gmail_like(rng: random.Random, domain: str, stamp: str) -> list[tuple[str, str]]:
    return [
        ("DKIM-Signature", _dkim(rng, domain)),
        ("X-Google-DKIM-Signature", _dkim(rng, "1e100.net")),
        ("X-Gm-Message-State", _b64(rng, 92)),
        ("X-Google-Smtp-Source", _b64(rng, 88)),
        ("X-Received", f"by 2002:a05:6402:{rng.randrange(999)}:b0:5d0 with SMTP id "
                       f"{_b64(rng, 16)}; {stamp}"),
    ]  # fmt: skip


def _outlook(rng: random.Random, domain: str, stamp: str) -> list[tuple[str, str]]:
    box = f"AM0PR{rng.randrange(10, 99)}MB{rng.randrange(1000, 9999)}.eurprd04.prod.outlook.com"
    cross = "X-MS-Exchange-CrossTenant-"
    return [
        ("ARC-Seal", f"i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=none; "
                     f"b={_b64(rng, 344)}"),
        ("ARC-Message-Signature", f"i=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com; "
                                  f"s=arcselector10001; h=From:Date:Subject:Message-ID; "
                                  f"bh={_b64(rng, 44)}; b={_b64(rng, 344)}"),
        ("ARC-Authentication-Results", f"i=1; mx.microsoft.com 1; spf=pass smtp.mailfrom="
                                       f"{domain}; dmarc=pass action=none header.from={domain}"),
        ("DKIM-Signature", _dkim(rng, domain)),
        ("Received", f"from {box} ([fe80::{rng.randrange(4096):x}]) by {box} with mapi id "
                     f"15.20.8207.017; {stamp}"),
        ("x-ms-publictraffictype", "Email"),
        ("x-microsoft-antispam", f"BCL:0;ARA:13230040|1800799024|366016|376014|{_b64(rng, 40)}"),
        ("x-microsoft-antispam-message-info", _b64(rng, 1400)),
        ("x-forefront-antispam-report", f"CIP:255.255.255.255;CTRY:;LANG:en;SCL:1;SRV:;"
                                        f"IPV:NLI;SFV:NSPM;H:{box};PTR:;CAT:NONE;"),
        ("x-ms-exchange-antispam-messagedata-chunkcount", "1"),
        ("x-ms-exchange-antispam-messagedata-0", _b64(rng, 2400)),
        (f"{cross}AuthAs", "Internal"),
        (f"{cross}OriginalArrivalTime", stamp),
        (f"{cross}FromEntityHeader", "Hosted"),
        (f"{cross}Id", _uuid(rng)),
        (f"{cross}MailboxType", "HOSTED"),
        (f"{cross}UserPrincipalName", _b64(rng, 60)),
        ("X-MS-Exchange-Transport-CrossTenantHeadersStamped", box),
        ("X-OriginatorOrg", domain),
    ]  # fmt: skip


def _dkim(rng: random.Random, domain: str) -> str:
    return (
        f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=20230601; t=1709366400; "
        f"h=to:subject:message-id:date:from:mime-version:from:to:cc :subject:date"
        f":message-id:reply-to; bh={_b64(rng, 44)}; b={_b64(rng, 344)}"
    )


def _b64(rng: random.Random, length: int) -> str:
    # Long signatures are folded at whitespace, which their syntax ignores.
    text = "".join(rng.choices(_B64, k=length))
    return " ".join(text[i : i + 64] for i in range(0, len(text), 64))


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
