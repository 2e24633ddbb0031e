"""The attachments step: files are judged by their bytes; blocked ones are named, never stored."""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
from collections.abc import Callable

import pytest

from helpdesk.filetypes import OCTET_STREAM, FileRules, served_type
from mailgate.inbound import InboundMessage, Part
from mailgate.parse import parse_message
from mailgate.steps.attachments import check_attachments
from tests.file_samples import EXE, png
from tests.mailgate.build import inbound

MB = 1024 * 1024
PDF = b"%PDF-1.7\n1 0 obj\n<</Type/Catalog>>\nendobj\ntrailer\n<</Root 1 0 R>>\n%%EOF\n"
SHELL = b"#!/bin/sh\nrm -rf /var/spool/cups/*\n"
BATCH = b"@echo off\r\nnet use Z: \\\\fileserver\\share\r\n"
# ISO 9660: 32 KiB of system area, then the primary volume descriptor.
ISO = b"\x00" * 32768 + b"\x01CD001\x01\x00" + b"\x00" * 2040
# An uncompressed Apple disk image: the volume, then the 512-byte "koly" trailer.
DMG = b"\x00" * 4096 + b"koly" + struct.pack(">II", 4, 512) + b"\x00" * 500
ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
    b"METHOD:REQUEST\r\nBEGIN:VEVENT\r\nDTSTART:20250310T090000Z\r\nDTEND:20250310T100000Z\r\n"
    b"SUMMARY:Printer handover\r\nUID:7kq2m@google.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
EML = (
    b"Return-Path: <ann@example.org>\r\nFrom: Ann <ann@example.org>\r\nTo: it@acme.test\r\n"
    b"Subject: Error log\r\nDate: Mon, 3 Mar 2025 10:00:00 +0100\r\n"
    b"Message-ID: <x1@example.org>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe log is below.\r\n"
)
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>\n'
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n%%EndComments\nnewpath\n"
AI = b"%PDF-1.6\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Creator(Adobe Illustrator 28.0)>>\nendobj\n"
PSD = b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 4, 4, 8, 3) + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00" + b"\x00" * 14
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb0043") + b"\x08" * 64
RTF = b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Calibri;}}\\f0 Hello}"
CSV = b"date,printer,pages\n2025-03-03,floor-2,1200\n"


def zipped(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def office(main: str, content_type: str) -> bytes:
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'content-types"><Override PartName="/{main}" ContentType="{content_type}"/></Types>'
    )
    return zipped(("[Content_Types].xml", types.encode()), (main, b"<x/>"))


def ole_document() -> bytes:
    """Return an empty OLE compound file, the container of .doc, .xls and .ppt."""
    free, end = 0xFFFFFFFF, 0xFFFFFFFE
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    header += struct.pack("<IIIIIIIII", 0, 1, 1, 0, 0x1000, end, 0, end, 0)
    header += struct.pack("<I", 0) + struct.pack("<I", free) * 108
    fat = struct.pack("<II", 0xFFFFFFFD, end) + struct.pack("<I", free) * 126
    name = "Root Entry".encode("utf-16-le") + b"\x00\x00"
    root = name.ljust(64, b"\x00") + struct.pack("<HBBIII", len(name), 5, 1, free, free, free)
    root += uuid.UUID("00020906-0000-0000-c000-000000000046").bytes_le + b"\x00" * 20
    root += struct.pack("<IQ", end, 0)
    empty = b"\x00" * 64 + struct.pack("<HBBIII", 0, 0, 0, free, free, free) + b"\x00" * 48
    return header + fat + root + empty * 3


def android_package() -> bytes:
    """Return an Android app with its manifest not first, so libmagic sees a plain zip."""
    return zipped(
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        ("AndroidManifest.xml", b"\x03\x00\x08\x00" + b"\x00" * 60),
        ("classes.dex", b"dex\n035\x00" + b"\x00" * 60),
    )


def checked(*parts: Part, max_bytes: int = 20 * MB, max_message: int = 25 * MB) -> InboundMessage:
    msg = inbound(parts=parts)
    return check_attachments(
        msg, rules=FileRules(max_bytes=max_bytes), max_message_bytes=max_message
    )


def judged(filename: str, data: bytes) -> InboundMessage:
    return checked(Part(filename, "application/octet-stream", data))


def test_a_thunderbird_mail_keeps_real_files_and_names_the_refused_ones(
    eml: Callable[[str], bytes],
) -> None:
    raw = eml("steps/thunderbird_attachments_mixed_verdicts")

    msg = check_attachments(parse_message(raw), rules=FileRules(), max_message_bytes=25 * MB)

    assert [(p.filename, p.sniffed_type) for p in msg.kept_parts] == [
        ("service-report.pdf", "application/pdf"),
        # A PNG saved as .jpg is harmless, and kept as what it is.
        ("display.jpg", "image/png"),
    ]
    assert [(b.filename, b.reason) for b in msg.blocked_parts] == [
        ("cleanup.txt", "the file's content is text/x-shellscript, which is not accepted"),
        ("Rechnung.pdf.exe", ".exe files are not accepted"),
    ]
    assert msg.drop_reason is None


@pytest.mark.parametrize(
    ("name", "blocked", "reason"),
    [
        ("thunderbird_attachment_exe", "LabelPrinter_Driver_Setup.exe", ".exe files"),
        ("attachment_renamed_executable_as_pdf", "invoice.pdf", "portable-executable"),
        ("outlook_attachment_zip_containing_exe", "Payroll_March.zip", "the zip archive holds"),
        ("steps/apple_mail_inline_image_that_is_html", "image.png", "text/html"),
    ],
)
def test_real_mail_with_a_dangerous_file_lands_without_it(
    eml: Callable[[str], bytes], name: str, blocked: str, reason: str
) -> None:
    msg = check_attachments(parse_message(eml(name)), rules=FileRules(), max_message_bytes=25 * MB)

    assert [b.filename for b in msg.blocked_parts] == [blocked]
    assert reason in msg.blocked_parts[0].reason
    assert blocked not in [p.filename for p in msg.kept_parts]


def test_gmails_inline_image_is_kept_inline_with_its_type(eml: Callable[[str], bytes]) -> None:
    raw = eml("gmail_inline_image_cid_related")

    msg = check_attachments(parse_message(raw), rules=FileRules(), max_message_bytes=25 * MB)

    assert [(p.filename, p.sniffed_type, p.inline) for p in msg.kept_parts] == [
        ("error.png", "image/png", True)
    ]


def test_an_inline_image_whose_bytes_are_no_picture_is_blocked() -> None:
    part = Part("image001", "image/png", PDF, content_id="image001.png@01DB", inline=True)

    msg = checked(part)

    assert msg.kept_parts == ()
    assert msg.blocked_parts[0].reason == (
        "an inline image must be an image, but its content is application/pdf"
    )


def test_a_file_the_html_points_at_that_is_no_picture_is_offered_for_download() -> None:
    part = Part("scan.pdf", "application/pdf", PDF, content_id="scan@01DB", inline=True)

    msg = checked(part)

    assert [(p.filename, p.inline) for p in msg.kept_parts] == [("scan.pdf", False)]


def test_a_file_over_the_per_file_limit_is_blocked_with_the_limit() -> None:
    msg = checked(Part("scan.pdf", "application/pdf", PDF + b"\x00" * 2 * MB), max_bytes=MB)

    assert msg.blocked_parts[0].reason == "the file is larger than the limit of 1 MB"


def test_files_past_the_message_limit_are_blocked_and_the_message_still_lands() -> None:
    parts = [Part(f"report-{n}.pdf", "application/pdf", PDF + b"\x00" * 600) for n in range(3)]

    msg = checked(*parts, max_message=1500)

    assert [p.filename for p in msg.kept_parts] == ["report-0.pdf", "report-1.pdf"]
    assert msg.blocked_parts[0].filename == "report-2.pdf"
    assert msg.blocked_parts[0].reason == "the message's files together would pass 1500 bytes"
    assert msg.drop_reason is None


def test_a_file_without_a_name_is_recorded_by_its_type() -> None:
    msg = checked(Part("", "application/x-msdownload", EXE))

    assert msg.blocked_parts[0].filename == "unnamed application/x-msdownload"


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("offer.pdf", PDF),
        ("letter.doc", ole_document()),
        ("letter.docx", office("word/document.xml", DOCX)),
        ("budget.xls", ole_document()),
        ("budget.xlsx", office("xl/workbook.xml", XLSX)),
        ("deck.ppt", ole_document()),
        ("deck.pptx", office("ppt/presentation.xml", PPTX)),
        ("pages.csv", CSV),
        ("notes.txt", b"The printer shows error E-52.\n"),
        ("letter.rtf", RTF),
        ("error.png", png()),
        ("photo.jpg", JPEG),
        ("photo.jpeg", JPEG),
        ("photo.webp", WEBP),
        ("spinner.gif", GIF),
        ("logo.svg", SVG),
        ("logo.ai", AI),
        ("logo.eps", EPS),
        ("mockup.psd", PSD),
        ("logs.zip", zipped(("printer.log", b"E-52\n" * 100))),
        ("forwarded.eml", EML),
        ("invite.ics", ICS),
    ],
)
def test_the_issues_allowed_types_are_kept(filename: str, data: bytes) -> None:
    msg = judged(filename, data)

    assert msg.blocked_parts == ()
    assert msg.kept_parts[0].sniffed_type


def test_an_svg_is_kept_but_only_ever_downloaded() -> None:
    kept = judged("logo.svg", SVG).kept_parts[0]

    assert served_type(kept.sniffed_type) == OCTET_STREAM


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("setup.exe", EXE, ".exe files"),
        ("setup.jpg", EXE, "portable-executable"),
        ("invoice.pdf.exe", PDF, ".exe files"),
        ("invoice.exe.pdf", PDF, ".exe files"),
        ("map.bat", BATCH, ".bat files"),
        ("map.cmd", BATCH, ".cmd files"),
        ("map.csv", BATCH, "text/x-msdos-batch"),
        ("installer.msi", ole_document(), ".msi files"),
        ("cleanup.sh", SHELL, ".sh files"),
        ("cleanup.txt", SHELL, "text/x-shellscript"),
        ("tool.dmg", DMG, ".dmg files"),
        # libmagic reads only the start; the disk image's mark is at its end.
        ("mockup.psd", DMG, "application/x-apple-diskimage"),
        ("disk.iso", ISO, ".iso files"),
        ("disk.pdf", ISO, "application/x-iso9660-image"),
        ("app.apk", android_package(), ".apk files"),
        ("app.zip", android_package(), "'classes.dex'; .dex files"),
        ("docs.zip", zipped(("readme.txt", b"hi"), ("tools/setup.exe", EXE)), "'setup.exe'"),
        ("docs.zip", zipped(("Setup.MSI", b"x")), "'Setup.MSI'; .msi files"),
        ("nested.zip", zipped(("invoice.pdf.js", b"x")), ".js files"),
    ],
)
def test_programs_installers_and_disk_images_are_blocked_however_named(
    filename: str, data: bytes, reason: str
) -> None:
    msg = judged(filename, data)

    assert msg.kept_parts == ()
    assert msg.blocked_parts[0].filename == filename
    assert reason in msg.blocked_parts[0].reason


def test_a_zip_that_would_unpack_to_over_a_hundred_times_its_size_is_blocked() -> None:
    msg = judged("logs.zip", zipped(("huge.log", b"\x00" * 2 * MB)))

    assert msg.blocked_parts[0].reason == (
        "the zip archive would unpack to more than 100 times its size"
    )


def test_a_zip_whose_listing_declares_over_100_mb_is_blocked_without_unpacking() -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("disk.img", "w", force_zip64=True) as member,
    ):
        for _ in range(101):
            member.write(b"\x00" * MB)

    msg = judged("backup.zip", buffer.getvalue())

    assert msg.blocked_parts[0].reason == "the zip archive would unpack to more than 100 MB"


def test_a_mail_without_files_keeps_and_blocks_nothing() -> None:
    msg = checked()

    assert (msg.kept_parts, msg.blocked_parts) == ((), ())
