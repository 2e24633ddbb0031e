"""Judging files by their bytes: what they really are, and whether a desk accepts them."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.errors import ValidationError
from helpdesk.filetypes import (
    DEFAULT_ALLOWED,
    DEFAULT_BLOCKED,
    FileRules,
    check_file,
    classify,
    extensions_of,
    inspect_zip,
    normalize_entries,
    served_type,
    sniff,
)
from helpdesk.services.tenant_settings import validate_settings
from tests.file_samples import EXE, png

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return buffer.getvalue()


def judge(filename: str, mime: str, **lists: frozenset[str]) -> bool:
    allowed = lists.get("allowed", DEFAULT_ALLOWED)
    blocked = lists.get("blocked", DEFAULT_BLOCKED)
    return classify(filename, mime, allowed=allowed, blocked=blocked).allowed


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (png(), "image/png"),
        (EXE, "application/vnd.microsoft.portable-executable"),
        (HTML, "text/html"),
        (zipped("a.txt"), "application/zip"),
        (b"", "application/x-empty"),
    ],
)
def test_sniff_reads_the_type_from_the_bytes(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


@pytest.mark.parametrize(
    ("filename", "mime"),
    [
        ("invoice.pdf", "application/pdf"),
        ("Scan 2026-03-02.PDF", "application/pdf"),
        ("photo.jpeg", "image/jpeg"),
        ("screenshot.png", "image/png"),
        ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("old.doc", "application/x-ole-storage"),
        ("notes.txt", "text/plain"),
        ("export.csv", "text/plain"),
        ("invite.ics", "text/calendar"),
        ("logo.svg", "image/svg+xml"),
        ("bundle.zip", "application/zip"),
        ("forwarded.eml", "message/rfc822"),
        # Misnamed, but harmless content of an allowed kind.
        ("photo.jpg", "image/png"),
        # Some mailers name inline images without an extension.
        ("image001", "image/png"),
    ],
)
def test_the_usual_office_files_are_accepted(filename: str, mime: str) -> None:
    assert judge(filename, mime)


@pytest.mark.parametrize(
    ("filename", "mime", "reason"),
    [
        ("setup.exe", "application/x-dosexec", ".exe files are not accepted"),
        ("invoice.pdf.exe", "application/x-dosexec", ".exe files are not accepted"),
        ("invoice.exe.pdf", "application/pdf", ".exe files are not accepted"),
        ("photo.jpg", "application/x-dosexec", "content is application/x-dosexec"),
        ("run.txt", "text/x-shellscript", "content is text/x-shellscript"),
        ("page.html", "text/html", ".html files are not accepted"),
        ("invoice.pdf", "text/html", "the name says .pdf but the content is text/html"),
        ("notes.txt", "text/html", "the name says .txt but the content is text/html"),
        ("movie.mp4", "video/mp4", ".mp4 files are not accepted"),
        ("README", "text/html", "files of type text/html are not accepted"),
        ("tool.EXE ", "application/octet-stream", ".exe files are not accepted"),
        ("tool.exe.", "application/octet-stream", ".exe files are not accepted"),
        ("invoice\u202efdp.exe", "application/x-dosexec", ".exe files are not accepted"),
    ],
)
def test_executables_and_unknown_types_are_refused_with_a_reason(
    filename: str, mime: str, reason: str
) -> None:
    verdict = classify(filename, mime, allowed=DEFAULT_ALLOWED, blocked=DEFAULT_BLOCKED)
    assert not verdict.allowed
    assert reason in verdict.reason


def test_a_desk_may_allow_more_types_but_never_unblock_executables() -> None:
    rules = FileRules.for_tenant(["MP4", ".html", "exe"], [], 1024)
    assert judge("movie.mp4", "video/mp4", allowed=rules.allowed, blocked=rules.blocked)
    assert judge("page.html", "text/html", allowed=rules.allowed, blocked=rules.blocked)
    assert not judge("setup.exe", "application/x-dosexec", allowed=rules.allowed)


def test_a_desk_may_block_an_allowed_type_by_key_name_and_content() -> None:
    rules = FileRules.for_tenant([], ["jpg", "zip"], 1024)
    assert not judge("photo.jpeg", "image/jpeg", allowed=rules.allowed, blocked=rules.blocked)
    assert not judge("photo.png", "image/jpeg", allowed=rules.allowed, blocked=rules.blocked)
    assert not judge("report.docx", "application/zip", allowed=rules.allowed, blocked=rules.blocked)
    assert judge("photo.png", "image/png", allowed=rules.allowed, blocked=rules.blocked)


def test_a_zip_listing_a_program_is_refused_without_extracting_it() -> None:
    _sniffed, verdict = check_file(
        "tools.zip", zipped("docs/readme.txt", "bin/setup.exe"), FileRules()
    )
    assert not verdict.allowed
    assert "setup.exe" in verdict.reason


def test_a_clean_zip_and_a_docx_pass() -> None:
    _sniffed, verdict = check_file("docs.zip", zipped("a.pdf", "b/c.txt"), FileRules())
    assert verdict.allowed


def test_a_damaged_zip_is_refused() -> None:
    verdict = inspect_zip(b"PK\x03\x04 not really a zip", blocked=DEFAULT_BLOCKED)
    assert verdict is not None
    assert not verdict.allowed


def test_an_executable_renamed_to_pdf_is_refused_by_its_bytes() -> None:
    sniffed, verdict = check_file("invoice.pdf", EXE, FileRules())
    assert sniffed == "application/vnd.microsoft.portable-executable"
    assert not verdict.allowed


@pytest.mark.parametrize(
    ("sniffed", "served"),
    [
        ("application/pdf", "application/pdf"),
        ("image/png", "image/png"),
        ("text/plain", "text/plain"),
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("text/xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("application/x-unheard-of", "application/octet-stream"),
    ],
)
def test_active_content_is_served_as_bytes(sniffed: str, served: str) -> None:
    assert served_type(sniffed) == served


def test_extensions_are_every_dotted_part_after_the_stem() -> None:
    assert extensions_of("C:\\Users\\x\\Invoice.PDF.exe ") == ["pdf", "exe"]
    assert extensions_of(".bashrc") == ["bashrc"]
    assert extensions_of("README") == []


def test_list_entries_are_normalized_and_junk_is_refused() -> None:
    assert normalize_entries([".MP4", " jpeg "]) == ["mp4", "jpeg"]
    with pytest.raises(ValueError, match="not a file type"):
        normalize_entries(["../etc"])


_segment = st.text(
    alphabet=st.characters(blacklist_characters="./\\", blacklist_categories=["Cs"]), max_size=8
)


@given(
    stem=_segment,
    before=st.lists(_segment, max_size=3),
    after=st.lists(_segment, max_size=3),
    blocked=st.sampled_from(sorted(DEFAULT_BLOCKED)),
    upper=st.booleans(),
    mime=st.sampled_from(["application/pdf", "image/png", "text/plain", "application/zip"]),
)
def test_a_name_with_any_blocked_extension_is_never_allowed(
    stem: str, before: list[str], after: list[str], blocked: str, upper: bool, mime: str
) -> None:
    extension = blocked.upper() if upper else blocked
    filename = ".".join([stem, *before, extension, *after])
    verdict = classify(filename, mime, allowed=DEFAULT_ALLOWED | {"mp4"}, blocked=DEFAULT_BLOCKED)
    assert not verdict.allowed


def test_a_desks_attachment_settings_are_checked_and_normalized() -> None:
    cleaned = validate_settings(
        {"attachment_allowed": [".MP4", "mp4", "heic"], "max_attachment_bytes": 5_000_000}
    )
    assert cleaned == {"attachment_allowed": ["heic", "mp4"], "max_attachment_bytes": 5_000_000}
    for bad in (
        {"attachment_blocked": ["../x"]},
        {"attachment_blocked": "exe"},
        {"attachment_allowed": [7]},
        {"max_attachment_bytes": 0},
    ):
        with pytest.raises(ValidationError):
            validate_settings(bad)
