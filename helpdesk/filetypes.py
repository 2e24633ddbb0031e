"""What a file really is, and whether a desk accepts it: judged by its bytes, not its name.

Layering exception: helpdesk/ imports no file-sniffing library, except this
module, which imports python-magic. The mail gateway and the API both check
attachments, and edges may not import each other, so the one sniffer lives
in the core.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

import magic

__all__ = [
    "DEFAULT_ALLOWED",
    "DEFAULT_BLOCKED",
    "OCTET_STREAM",
    "FileRules",
    "Verdict",
    "check_file",
    "classify",
    "extensions_of",
    "inspect_zip",
    "normalize_entries",
    "served_type",
    "sniff",
]

OCTET_STREAM = "application/octet-stream"
# libmagic reads the start of a file; office formats need the zip's first entries.
SNIFF_BYTES = 1 << 20
# A zip's listing is read within these bounds, and never extracted.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_NAME_LENGTH = 1024
# Past these a zip is a probable zip bomb: whoever unpacks it would fill a disk.
MAX_ZIP_EXPANDED_BYTES = 100 * 1024 * 1024
MAX_ZIP_RATIO = 100
# Small archives cannot hurt anyone, however well they compress (a page of zeros).
_ZIP_RATIO_FLOOR = 1024 * 1024
# An Apple disk image (UDIF) ends with a 512-byte trailer: "koly", version 4,
# its own size; libmagic reads only the start, which looks like any compressed data.
_DMG_TRAILER = 512
_DMG_MAGIC = b"koly" + (4).to_bytes(4, "big") + _DMG_TRAILER.to_bytes(4, "big")
_ENTRY = re.compile(r"^[a-z0-9][a-z0-9_+-]{0,15}$")
_TEXT = "text/*"
_ZIP = "application/zip"
_OLE = ("application/x-ole-storage", "application/cdfv2", OCTET_STREAM)
_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."


@dataclass(frozen=True)
class FileType:
    """A kind of file a desk may accept: its name endings and the types its bytes sniff as."""

    key: str
    label: str
    extensions: frozenset[str]
    mimes: frozenset[str]
    # The type only this kind sniffs as (zip and OLE containers are shared).
    primary: str


def _type(key: str, label: str, extensions: str, *mimes: str) -> FileType:
    return FileType(key, label, frozenset(extensions.split()), frozenset(mimes), mimes[0])


# The kinds of file we know. A type's mimes are what libmagic reports for
# real files of it ("text/*": any plain text that is not active content).
FILE_TYPES: dict[str, FileType] = {
    t.key: t
    for t in (
        _type("pdf", "a PDF document", "pdf", "application/pdf"),
        _type("doc", "a Word document", "doc dot", "application/msword", *_OLE),
        _type("docx", "a Word document", "docx", _OOXML + "wordprocessingml.document", _ZIP),
        _type("xls", "an Excel workbook", "xls", "application/vnd.ms-excel", *_OLE),
        _type("xlsx", "an Excel workbook", "xlsx", _OOXML + "spreadsheetml.sheet", _ZIP),
        _type("ppt", "a PowerPoint deck", "ppt", "application/vnd.ms-powerpoint", *_OLE),
        _type("pptx", "a PowerPoint deck", "pptx", _OOXML + "presentationml.presentation", _ZIP),
        _type("csv", "a CSV table", "csv", _TEXT, "application/csv"),
        _type("txt", "a text file", "txt log", _TEXT),
        _type("rtf", "an RTF document", "rtf", "text/rtf", "application/rtf"),
        _type("png", "a PNG image", "png", "image/png"),
        _type("jpg", "a JPEG image", "jpg jpeg jpe", "image/jpeg"),
        _type("webp", "a WebP image", "webp", "image/webp"),
        _type("gif", "a GIF image", "gif", "image/gif"),
        _type("svg", "an SVG image", "svg", "image/svg+xml", "text/xml", "application/xml"),
        _type("ai", "an Illustrator file", "ai", "application/pdf", "application/postscript"),
        _type("eps", "an EPS image", "eps", "application/postscript"),
        _type("psd", "a Photoshop image", "psd", "image/vnd.adobe.photoshop", OCTET_STREAM),
        _type("zip", "a zip archive", "zip", _ZIP, "application/x-zip-compressed"),
        _type("eml", "an e-mail message", "eml", "message/rfc822", _TEXT),
        _type("ics", "a calendar entry", "ics", "text/calendar", _TEXT),
        # Known, but a desk must allow them itself.
        _type("html", "a web page", "html htm xhtml", "text/html", "application/xhtml+xml"),
        _type("xml", "an XML document", "xml", "text/xml", "application/xml"),
        _type("json", "a JSON document", "json", "application/json", _TEXT),
        _type("md", "a Markdown text", "md", _TEXT),
        _type("odt", "an OpenDocument text", "odt", _ODF + "text", _ZIP),
        _type("ods", "an OpenDocument sheet", "ods", _ODF + "spreadsheet", _ZIP),
        _type("odp", "an OpenDocument deck", "odp", _ODF + "presentation", _ZIP),
        _type("msg", "an Outlook message", "msg", "application/vnd.ms-outlook", *_OLE),
        _type("tiff", "a TIFF image", "tif tiff", "image/tiff"),
        _type("bmp", "a bitmap image", "bmp", "image/bmp", "image/x-ms-bmp"),
        _type("heic", "a HEIC photo", "heic heif", "image/heic", "image/heif"),
        _type("mp3", "an MP3 recording", "mp3", "audio/mpeg"),
        _type("wav", "a WAV recording", "wav", "audio/x-wav", "audio/wav"),
        _type("mp4", "an MP4 video", "mp4 m4v", "video/mp4"),
        _type("mov", "a QuickTime video", "mov", "video/quicktime"),
        _type("gz", "a gzip file", "gz tgz", "application/gzip"),
        _type("7z", "a 7-Zip archive", "7z", "application/x-7z-compressed"),
        _type("rar", "a RAR archive", "rar", "application/x-rar", "application/vnd.rar"),
    )
}
DEFAULT_ALLOWED = frozenset(
    {
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "csv", "txt", "rtf", "png", "jpg",
        "webp", "gif", "svg", "ai", "eps", "psd", "zip", "eml", "ics",
    }
)  # fmt: skip

# Executables, installers, scripts and disk images: refused whatever the
# desk's lists say, because opening one runs code on the agent's machine.
DEFAULT_BLOCKED = frozenset(
    {
        # Windows programs and libraries
        "exe", "dll", "com", "scr", "pif", "cpl", "ocx", "drv", "sys", "xll", "xlam", "gadget",
        "msc",
        # Installers and packages
        "msi", "msp", "mst", "msix", "msixbundle", "appx", "apk", "ipa", "deb", "rpm", "pkg",
        "dmg", "app", "run", "aab", "xapk", "dex",
        # Scripts
        "bat", "cmd", "ps1", "psm1", "psd1", "vbs", "vbe", "js", "jse", "mjs", "wsf", "wsh", "wsc",
        "hta", "jar", "class", "sh", "bash", "zsh", "csh", "ksh", "command", "reg", "inf", "scf",
        "lnk", "url",
        # Disk images and bare binaries
        "iso", "img", "vhd", "vhdx", "elf",
    }
)  # fmt: skip
EXECUTABLE_MIMES = frozenset(
    {
        "application/x-dosexec", "application/x-msdownload",
        "application/vnd.microsoft.portable-executable", "application/x-executable",
        "application/x-elf", "application/x-sharedlib", "application/x-pie-executable",
        "application/x-mach-binary", "application/x-msi", "application/x-ms-installer",
        "application/x-ms-shortcut", "application/java-archive", "application/x-java-applet",
        "application/vnd.android.package-archive", "application/x-apple-diskimage",
        "application/x-iso9660-image", "text/x-shellscript", "text/x-msdos-batch",
    }
)  # fmt: skip
# Content a browser runs or renders with scripts; never served as itself.
ACTIVE_MIMES = frozenset(
    {
        "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
        "text/javascript", "application/javascript", "application/x-javascript", "text/ecmascript",
        "application/ecmascript", "application/x-shockwave-flash", "text/xsl",
    }
)  # fmt: skip
# What may be served as its own type: the known kinds that no browser runs.
PASSIVE_MIMES = (
    frozenset(m for t in FILE_TYPES.values() for m in t.mimes if m != _TEXT) - ACTIVE_MIMES
) | {"text/plain", "text/csv"}


@dataclass(frozen=True)
class Verdict:
    """Whether a file is accepted, and why (the reason is shown to whoever sent it)."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class FileRules:
    """A desk's attachment rules: the product's lists with the tenant's additions."""

    allowed: frozenset[str] = DEFAULT_ALLOWED
    blocked: frozenset[str] = DEFAULT_BLOCKED
    max_bytes: int = 20 * 1024 * 1024

    @classmethod
    def for_tenant(
        cls, allowed: Iterable[str], blocked: Iterable[str], max_bytes: int
    ) -> FileRules:
        """Add a tenant's entries to the product's lists; blocked always wins."""
        return cls(
            allowed=DEFAULT_ALLOWED | frozenset(normalize_entries(allowed)),
            blocked=DEFAULT_BLOCKED | frozenset(normalize_entries(blocked)),
            max_bytes=max_bytes,
        )


def sniff(data: bytes) -> str:
    """Return the MIME type the bytes really are, as libmagic reads them."""
    if not data:
        return "application/x-empty"
    if len(data) >= _DMG_TRAILER and data[-_DMG_TRAILER:].startswith(_DMG_MAGIC):
        return "application/x-apple-diskimage"
    return _base(magic.from_buffer(data[:SNIFF_BYTES], mime=True))


def check_file(filename: str, data: bytes, rules: FileRules) -> tuple[str, Verdict]:
    """Sniff the bytes and judge the file: its name, its content, a zip's listing.

    Returns the sniffed type and the verdict. The size is the caller's to check.
    """
    sniffed = sniff(data)
    verdict = classify(filename, sniffed, allowed=rules.allowed, blocked=rules.blocked)
    if verdict.allowed and _is_zip(sniffed):
        verdict = inspect_zip(data, blocked=rules.blocked) or verdict
    return sniffed, verdict


def classify(
    filename: str, sniffed_mime: str, *, allowed: Iterable[str], blocked: Iterable[str]
) -> Verdict:
    """Judge a file by its name and sniffed type against allow and block lists.

    The lists hold type keys ("jpg") or bare extensions ("mp4"). A name is
    refused when any of its extensions is blocked ("invoice.pdf.exe",
    "setup.exe.txt"), content that sniffs as an executable is refused whatever
    its name, and the last extension must be allowed and agree with the
    content (a PNG named .jpg passes; HTML named .pdf does not).
    """
    blocked_types = _Lists(blocked)
    extensions = extensions_of(filename)
    hit = next((e for e in extensions if e in blocked_types.extensions), None)
    if hit is not None:
        return Verdict(False, f".{hit} files are not accepted")
    mime = _base(sniffed_mime)
    if mime in EXECUTABLE_MIMES or blocked_types.covers(mime):
        return Verdict(False, f"the file's content is {mime}, which is not accepted")
    return _judge_allowed(extensions[-1] if extensions else None, mime, _Lists(allowed))


def inspect_zip(data: bytes, *, blocked: Iterable[str]) -> Verdict | None:
    """Refuse a zip whose listing names a blocked file; None when the listing is clean.

    Only the central directory is read, never a member's bytes, and within
    bounds: a listing too long or with names too long to check is refused, and
    so is a probable zip bomb (see `_zip_bomb`).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
        return Verdict(False, "the zip archive is damaged and cannot be checked")
    if len(entries) > MAX_ZIP_ENTRIES:
        return Verdict(False, f"the zip archive holds more than {MAX_ZIP_ENTRIES} files")
    bomb = _zip_bomb(entries, len(data))
    if bomb is not None:
        return bomb
    blocked_extensions = _Lists(blocked).extensions
    for entry in entries:
        if len(entry.filename) > MAX_ZIP_NAME_LENGTH:
            return Verdict(False, "the zip archive holds a file name too long to check")
        name = entry.filename.replace("\\", "/").rsplit("/", 1)[-1]
        hit = next((e for e in extensions_of(name) if e in blocked_extensions), None)
        if hit is not None:
            return Verdict(False, f"the zip archive holds {name!r}; .{hit} files are not accepted")
    return None


def _zip_bomb(entries: list[zipfile.ZipInfo], archive_bytes: int) -> Verdict | None:
    """Refuse a listing that declares more than 100 MB, or more than 100 times its own size.

    The ratio is taken against the archive's real size, not the sizes the
    listing declares for the compressed members, which a forger may choose.
    """
    expanded = sum(entry.file_size for entry in entries)
    if expanded > MAX_ZIP_EXPANDED_BYTES:
        limit = MAX_ZIP_EXPANDED_BYTES // (1024 * 1024)
        return Verdict(False, f"the zip archive would unpack to more than {limit} MB")
    if expanded > _ZIP_RATIO_FLOOR and expanded > MAX_ZIP_RATIO * archive_bytes:
        return Verdict(
            False, f"the zip archive would unpack to more than {MAX_ZIP_RATIO} times its size"
        )
    return None


def served_type(sniffed_mime: str) -> str:
    """Return the Content-Type to serve a file as: its own only when no browser runs it."""
    mime = _base(sniffed_mime)
    return mime if mime in PASSIVE_MIMES else OCTET_STREAM


def extensions_of(filename: str) -> list[str]:
    """Return every extension of a name, outermost last: "a.PDF.exe " -> ["pdf", "exe"].

    Invisible format characters are dropped and compatibility forms folded
    first, so that neither hides an extension; Windows ignores trailing dots
    and spaces, and so do we.
    """
    # The directory part goes first: a character that folds into "/" is no separator.
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    visible = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    folded = unicodedata.normalize("NFKC", visible).casefold()
    parts = [part.strip() for part in folded.split(".")]
    return [part for part in parts[1:] if part]


def normalize_entries(entries: Iterable[str]) -> list[str]:
    """Return list entries (type keys or extensions) lower-cased, without a leading dot.

    Raises:
        ValueError: an entry is not 1 to 16 letters, digits, "_", "+" or "-".
    """
    result = []
    for entry in entries:
        value = entry.strip().lower().removeprefix(".") if isinstance(entry, str) else ""
        if not _ENTRY.match(value):
            raise ValueError(f"not a file type or extension: {entry!r}")
        result.append(value)
    return result


class _Lists:
    """A list of type keys and extensions, resolved to extensions and known types."""

    def __init__(self, entries: Iterable[str]) -> None:
        names = {entry.lower().removeprefix(".") for entry in entries}
        self.types = [t for t in FILE_TYPES.values() if t.key in names or t.extensions & names]
        self.extensions = names.union(*(t.extensions for t in self.types))

    def covers(self, mime: str) -> bool:
        """Whether the content is of a listed type (plain text is no type of its own)."""
        return any(mime == t.primary and mime != _TEXT for t in self.types)

    def accepts(self, mime: str) -> bool:
        return any(_matches(t, mime) for t in self.types)


def _judge_allowed(extension: str | None, mime: str, allowed: _Lists) -> Verdict:
    if extension is None:
        # A name without an extension ("image001" in some mailers): the content decides.
        if allowed.accepts(mime):
            return Verdict(True, f"the content is {mime}")
        return Verdict(False, f"files of type {mime} are not accepted")
    if extension not in allowed.extensions:
        return Verdict(False, f".{extension} files are not accepted")
    own = next((t for t in allowed.types if extension in t.extensions), None)
    if own is None:
        # A desk allowed a bare extension we know nothing of; only inert content passes.
        if mime in ACTIVE_MIMES:
            return Verdict(False, f"the content is {mime}, which is not accepted")
        return Verdict(True, f".{extension} files are accepted here")
    if _matches(own, mime):
        return Verdict(True, own.label)
    if allowed.accepts(mime) and mime not in ACTIVE_MIMES:
        # Misnamed but harmless, like a PNG saved as .jpg.
        return Verdict(True, f"the content is {mime}")
    return Verdict(False, f"the name says .{extension} but the content is {mime}")


def _matches(file_type: FileType, mime: str) -> bool:
    if mime in file_type.mimes:
        return True
    is_text = mime.startswith("text/") and mime not in ACTIVE_MIMES
    return _TEXT in file_type.mimes and is_text


def _is_zip(mime: str) -> bool:
    return mime in {_ZIP, "application/x-zip-compressed"} or mime.startswith((_OOXML, _ODF))


def _base(mime: str) -> str:
    return mime.split(";", 1)[0].strip().lower() or OCTET_STREAM
