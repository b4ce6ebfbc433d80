"""A raw mail read into what a person sees: decoded headers, a text body, sanitised HTML, attachments.

Pure: no database, no I/O. Everything in a mail is hostile, so parse() never raises for a broken
mail; it reads what it can and lists what was wrong in `problems` (the caller keeps the raw bytes
regardless). Only input with nothing mail-like about it raises ParseError.

The stdlib's compat32 parser finds the MIME structure (it survives broken mail better, and is ten
times faster, than policy.default); headers, charsets, transfer encodings and filenames are decoded
here, with a fallback for lying or missing charsets: declared → utf-8 → windows-1252.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from email.feedparser import BytesFeedParser
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import nh3

MAX_PARTS = 200                      # MIME entities walked; the rest is kept as one attachment
MAX_DEPTH = 10                       # multipart nesting; a deeper subtree is kept as one attachment
MAX_HEADER_BYTES = 256 * 1024        # the top-level header section
MAX_FIELD_BYTES = 64 * 1024          # one header field
MAX_PARAM_FIELD_BYTES = 8 * 1024     # Content-Type / Content-Disposition, anywhere in the mail
MAX_PARAM_SEMICOLONS = 128           # the stdlib's parameter splitter is quadratic in these
MAX_ADDRESSES = 100                  # per address list
MAX_ADDRESS_FIELD_CHARS = 32 * 1024  # an address list is parsed from at most this much
MAX_IDS = 100                        # References / In-Reply-To
MAX_SUBJECT = 1000
MAX_NAME = 256
MAX_FILENAME = 200
MAX_BODY_CHARS = 2_000_000           # text or HTML shown; a longer body is also kept whole as an attachment
MAX_HTML_DEPTH = 200                 # open HTML elements; deeper start tags are dropped (their text stays)
MAX_PROBLEMS = 50


class ParseError(ValueError):
    """Not a mail we can read at all (e.g. an Outlook .msg OLE file): keep it raw."""


@dataclass(frozen=True)
class Address:
    name: str      # decoded display name, one line, may be ""
    address: str   # lower-cased addr-spec, may be "" when unparseable


@dataclass(frozen=True)
class Attachment:
    filename: str           # safe to show and to put in Content-Disposition (see safe_filename)
    content_type: str       # lower-case "type/subtype"
    data: bytes
    content_id: str | None  # without <>, for inline images (cid:)
    inline: bool


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: Address
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    auto_submitted: bool
    bounce: bool
    bounced_message_id: str | None
    problems: tuple[str, ...]
    # No automatic answer may go to this mail: it is automatic itself, or its sender asks for none
    # (X-Auto-Response-Suppress: OOF, AutoReply or All) though a person may have written it.
    auto_reply_suppressed: bool = False


# ---------------------------------------------------------------------------------------------
# charsets

# Labels mail uses that Python does not know, or knows as a smaller charset than the sender meant.
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6", "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-e": "iso-8859-6", "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "x-mac-cyrillic": "mac-cyrillic", "x-mac-roman": "mac-roman", "macintosh": "mac-roman",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cn-gb": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "x-sjis": "cp932", "sjis": "cp932", "windows-31j": "cp932",
    "tis-620": "cp874", "windows-874": "cp874", "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8",
    "x-unicode20utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "iso-8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252", "l1": "cp1252",
}
# Codecs Python has that no mail charset means; decoding with them would misread the text.
_REFUSED_CODECS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "mbcs", "oem",
                   "charmap"}
_LATIN_CODECS = {"cp1252", "iso8859-15", "latin-1", "iso8859-1"}
_UNDEFINED_IN_1252 = {0xDC00 + b: b for b in range(0x80, 0x100)}  # surrogate escapes back to latin-1


def _codec(label: str | None) -> str | None:
    """Python's codec name for a charset label from a mail, or None for an unknown or unusable one."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower().split("*", 1)[0]  # RFC 2231 "utf-8*sv"
    name = _CHARSET_ALIASES.get(name, name)
    if not name or len(name) > 40:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("_", "-") in _REFUSED_CODECS:
        return None
    return info.name


def _cp1252(data: bytes) -> str:
    # The five bytes windows-1252 leaves undefined are read as latin-1, so it never fails.
    return data.decode("cp1252", "surrogateescape").translate(_UNDEFINED_IN_1252)


_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


def _utf8_or_1252(data: bytes) -> tuple[str, str]:
    """utf-8, with any bytes that are not utf-8 read as windows-1252 (mail mixes them); and what was used."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "surrogateescape")
    used = "utf-8 and windows-1252" if any(127 < ord(c) < 0xDC80 or ord(c) > 0xDCFF for c in text) \
        else "windows-1252"
    return _ESCAPED_BYTES.sub(lambda m: _cp1252(bytes(ord(c) - 0xDC00 for c in m.group())), text), used


def _label(label: str) -> str:
    return repr(label.strip()[:40])


# Supersets tried when a mail's bytes are not valid in the charset it names.
_RELATIVES = {
    "iso2022-jp": ("iso2022-jp-2", "iso2022-jp-2004", "iso2022-jp-3", "iso2022-jp-ext"),
    "cp949": ("johab",), "big5": ("big5hkscs", "cp950"), "euc-jp": ("euc-jis-2004", "cp932"),
    "cp932": ("shift-jis-2004",), "gb18030": ("utf-8",),
}
_SEVEN_BIT = ("iso2022", "utf-7", "hz")  # their bytes are all ASCII, so "valid utf-8" says nothing


def _decode(data: bytes, label: str | None, where: str, notes: _Notes) -> str:
    """Bytes as text in the declared charset, falling back to utf-8 then windows-1252; notes what it did."""
    if not data:
        return ""
    codec = _codec(label)
    shown = _label(label or "")
    if label and label.strip() and codec is None:
        notes.add(f"unknown charset {shown} in {where}, read as utf-8 or windows-1252")
    if codec is None or codec == "ascii":
        if data.isascii():
            return data.decode("ascii")
        text, used = _utf8_or_1252(data)
        if codec == "ascii":
            notes.add(f"{where} declared us-ascii but holds 8-bit bytes, read as {used}")
        elif not label:
            notes.add(f"{where} has 8-bit bytes and no charset, read as {used}")
        return text
    if codec in _LATIN_CODECS:
        # a common lie: utf-8 labelled latin-1; valid utf-8 by accident is vanishingly rare in latin-1 text
        if not data.isascii():
            try:
                text = data.decode("utf-8")
                notes.add(f"{where} declared {shown} but is utf-8, read as utf-8")
                return text
            except UnicodeDecodeError:
                pass
        return _cp1252(data) if codec in ("cp1252", "iso8859-1", "latin-1") else data.decode(codec, "replace")
    for candidate in (codec, *_RELATIVES.get(codec.replace("_", "-"), ())):
        try:
            text = data.decode(candidate)
        except (UnicodeError, LookupError):
            continue
        except Exception:  # noqa: BLE001 - a few stdlib CJK decoders raise other errors on hostile bytes
            continue
        if candidate != codec:
            notes.add(f"{where} is not valid {shown}, read as {candidate}")
        return text
    multibyte = codec != "utf-8" and not codec.startswith(("utf-16", "utf-32"))
    if multibyte and (data.isascii() or codec.startswith(_SEVEN_BIT)):
        try:
            text = data.decode(codec, "replace")
            notes.add(f"{where} has bytes that are not valid {shown}, replaced")
            return text
        except Exception:  # noqa: BLE001
            pass
    if codec != "utf-8":
        try:
            text = data.decode("utf-8")
            notes.add(f"{where} is not valid {shown}, read as utf-8")
            return text
        except UnicodeDecodeError:
            pass
    if multibyte:
        try:
            text = data.decode(codec, "replace")
        except Exception:  # noqa: BLE001
            text = ""
        if text and text.count("\ufffd") <= max(2, len(text) // 100):
            notes.add(f"{where} has a few bytes that are not valid {shown}, replaced")
            return text
    text, used = _utf8_or_1252(data)
    notes.add(f"{where} is not valid {shown}, read as {used}")
    return text


def _payload(part: Message):
    """The payload as parsed: get_payload() would decode 8-bit text with errors="replace" first."""
    return part._payload


def _as_bytes(value: str | bytes) -> bytes:
    """The bytes behind a compat32 string (8-bit bytes are kept as surrogate escapes)."""
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8", "surrogateescape")


_SURROGATES = re.compile("[\ud800-\udfff]")


def _no_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)


# ---------------------------------------------------------------------------------------------
# headers

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n[ \t]+")  # a fold and its indentation read as one space, as mail clients show it
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"))


def _header_str(value: str, name: str, notes: _Notes) -> str:
    """A raw compat32 header value as text: 8-bit bytes decoded (utf-8, else windows-1252), unfolded."""
    if not value.isascii():
        raw = _as_bytes(value)
        value, used = _utf8_or_1252(raw)
        if used != "utf-8" and notes.hint:
            # unlabelled header bytes are most likely in the charset the sender's text parts declare
            try:
                value, used = raw.decode(notes.hint), notes.hint
            except (UnicodeError, LookupError):
                pass
        if used != "utf-8":
            notes.add(f"raw 8-bit bytes in {name}, read as {used}")
    return _FOLD.sub(" ", value)


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    data = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in "bB":
            data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
            if len(data) % 4 == 1:
                data = data[:-1]
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None


def _decode_words(text: str, notes: _Notes | None = None) -> str:
    """Text with its RFC 2047 encoded-words decoded; adjacent words of one charset are decoded together."""
    notes = notes if notes is not None else _Notes()
    out: list[str] = []
    pending: list[list] = []  # [charset, bytes] of encoded-words separated only by whitespace
    pos = 0

    def flush():
        for charset, data in pending:
            out.append(_decode(data, charset, "a header", notes))
        pending.clear()

    for m in _ENCODED_WORD.finditer(text):
        between = text[pos:m.start()]
        if not (pending and not between.strip()):
            flush()
            out.append(between)
        charset, encoding, payload = m.groups()
        data = _word_bytes(encoding, payload)
        if data is None:
            flush()
            out.append(m.group(0))
        elif pending and pending[-1][0].lower() == charset.lower():
            pending[-1][1] += data
        else:
            pending.append([charset, data])
        pos = m.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


def _one_line(text: str, limit: int) -> str:
    """One line to show: control characters become spaces, direction overrides go, capped."""
    text = unicodedata.normalize("NFC", text[:limit * 2].translate(_BIDI_CONTROLS))
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return _no_surrogates(text.strip()[:limit].strip())


_MESSAGE_ID = re.compile(r"<([^<>\s]{1,998})>")
_LOOSE_MESSAGE_ID = re.compile(r"<([^<>]{1,998})>")
_COMMENT = re.compile(r"\([^()]*\)")


def _message_ids(value: str) -> list[str]:
    ids = _MESSAGE_ID.findall(value)
    if not ids:  # obsolete syntax with comments and spaces inside the brackets
        ids = ["".join(_COMMENT.sub("", i).split()) for i in _LOOSE_MESSAGE_ID.findall(value)]
    if not ids:  # some senders leave out the angle brackets
        ids = [t.strip("<>,;") for t in value.split() if re.fullmatch(r"<?[^@]+@[^@]+>?[,;]?", t)]
    ids = ["".join(_one_line(i, 998).split()).replace("<", "").replace(">", "") for i in ids if i.isprintable()]
    return [i for i in ids if i]


_ADDR_SPEC = re.compile(r"[^@\s<>()\[\],;:\"\x00-\x1f\x7f]+@[^@\s<>()\[\],;:\"\x00-\x1f\x7f]+")


def _address_entries(value: str) -> list[tuple[str, str]]:
    """An address list split into (display name, address) by hand, in one pass.

    Python 3.11's getaddresses() reads `alice@x <bob@y>` as two addresses, the first of them the
    display name: the sender would be whoever the name claims. Here the angle address wins, group
    syntax ("Team: a@x, b@y;") is flattened, and comments become the name when there is no other.
    """
    entries: list[tuple[str, str]] = []
    display: list[str] = []
    comment: list[str] = []
    angle: list[str] = []
    has_angle = False
    state = ""  # "" | '"' | "<" | "("
    after_comment = ""
    depth = 0
    escaped = False

    def in_encoded_word() -> bool:  # senders put "," and ":" inside encoded-words, though RFC 2047 says not to
        text = "".join(display[-200:])  # an encoded-word is at most 75 characters
        at = text.rfind("=?")
        return at >= 0 and text.find("?=", at + 2) < 0 and text.count("?", at + 2) < 3

    def end_entry():
        nonlocal has_angle
        name = " ".join("".join(display).split())
        note = " ".join("".join(comment).split())
        if has_angle:
            addr = "".join(angle).strip()
            addr = addr.rsplit(":", 1)[-1] if addr.startswith("@") else addr  # obsolete source route
            entries.append((name or note, addr))
        elif name:
            entries.append((note, name.replace(" ", "")))
        display.clear()
        comment.clear()
        angle.clear()
        has_angle = False

    for ch in value:
        if escaped:
            (angle if state == "<" else comment if state == "(" else display).append(ch)
            escaped = False
        elif ch == "\\" and state in ('"', "("):
            escaped = True
        elif state == '"':
            if ch == '"':
                state = ""
            else:
                display.append(ch)
        elif state == "(":
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    state = after_comment
                    if state == "":
                        comment.append(" ")
                    continue
            if after_comment == "":
                comment.append(ch)
        elif state == "<":
            if ch == ">":
                state = ""
            elif ch == "(":
                state, depth, after_comment = "(", 1, "<"
            else:
                angle.append(ch)
        elif ch == '"':
            state = '"'
        elif ch == "(":
            state, depth, after_comment = "(", 1, ""
        elif ch in ",:;" and in_encoded_word():
            display.append(ch)
        elif ch == "<":
            state, has_angle = "<", True
            angle.clear()
        elif ch == ",":
            end_entry()
        elif ch == ":" and not has_angle:  # a group's name
            display.clear()
            comment.clear()
        elif ch == ";":
            end_entry()
        else:
            display.append(ch)
    end_entry()
    return entries


def _addresses(value: str, field: str, notes: _Notes) -> list[Address]:
    if len(value) > MAX_ADDRESS_FIELD_CHARS:
        notes.add(f"{field} of {len(value):,} characters: only the first {MAX_ADDRESS_FIELD_CHARS:,} read")
        value = value[:MAX_ADDRESS_FIELD_CHARS]
    found: list[Address] = []
    pending = ""  # `Doe, John <j@x>`: an unquoted comma split the name from its address
    for name, raw_addr in _address_entries(value):
        addr = "".join(_one_line(raw_addr, 320).split()).lower()
        if not _ADDR_SPEC.fullmatch(addr):
            if "@" not in addr and not name:
                pending = f"{pending}, {raw_addr}" if pending else raw_addr
                continue
            name, addr = name or raw_addr, ""
        elif pending and not name:
            name = pending
        elif pending:
            name = f"{pending}, {name}"
        pending = ""
        name = _one_line(_decode_words(name, notes).strip().strip("\"'").strip(), MAX_NAME)
        found.append(Address(name, addr))
    if pending:
        found.append(Address(_one_line(_decode_words(pending, notes), MAX_NAME), ""))
    if found and not any(a.address for a in found):
        # "a@x b@y" and similar: the first thing that looks like an address is better than none
        specs = ["".join(_one_line(spec, 320).split()).lower() for spec in _ADDR_SPEC.findall(value)]
        if specs:
            found = [Address("", spec) for spec in specs]
    if len(found) > MAX_ADDRESSES:
        notes.add(f"{field} has {len(found):,} addresses, kept the first {MAX_ADDRESSES}")
        found = found[:MAX_ADDRESSES]
    return found


class _Headers:
    """One entity's header fields as raw compat32 strings, by lower-case name."""

    def __init__(self, part: Message):
        self.fields: dict[str, list[str]] = {}
        for name, value in part.raw_items():
            self.fields.setdefault(str(name).strip().lower(), []).append(str(value))

    def raw(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def text(self, name: str, notes: _Notes) -> str:
        value = self.raw(name)
        return "" if value is None else _header_str(value, name.title(), notes)


_PARAM_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[^;"]+|;', re.S)
_PARAM_NAME = re.compile(r"([^*]+)(?:\*(\d{1,3}))?(\*)?")


def _parse_params(value: str, notes: _Notes) -> tuple[str, dict[str, str]]:
    """A Content-Type or -Disposition value: (lower-case main value, decoded parameters), RFC 2231 included.

    Linear on purpose: the stdlib's splitter is quadratic, and loses raw 8-bit bytes.
    """
    pieces, current = [], []
    for m in _PARAM_TOKEN.finditer(value):
        if m.group(0) == ";":
            pieces.append("".join(current))
            current = []
        else:
            current.append(m.group(0))
    pieces.append("".join(current))
    main = _FOLD.sub(" ", pieces[0]).strip().lower()
    plain: dict[str, str] = {}
    continued: dict[str, list[tuple[int, bool, str]]] = {}
    for piece in pieces[1:]:
        key, sep, val = piece.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            continue
        val = val.strip()
        if val.startswith('"'):
            val = re.sub(r'\\(["\\])', r"\1", val[1:-1] if len(val) > 1 and val.endswith('"') else val[1:])
        m = _PARAM_NAME.fullmatch(key)
        if m and (m.group(2) is not None or m.group(3)):
            continued.setdefault(m.group(1), []).append((int(m.group(2) or 0), bool(m.group(3)), val))
        else:
            plain.setdefault(key, val)
    params = {key: _header_str(val, key, notes).strip() for key, val in plain.items()}
    for key, segments in continued.items():
        segments.sort(key=lambda seg: seg[0])
        charset, data = None, []
        for i, (_, extended, val) in enumerate(segments):
            if extended:
                if i == 0 and val.count("'") >= 2:
                    charset, _, val = val.split("'", 2)
                data.append(_percent_decode(val))
            else:
                data.append(_as_bytes(val))
        params[key] = _decode(b"".join(data), charset or "utf-8", f"the {key} parameter", notes)
    return main, params


def _percent_decode(text: str) -> bytes:
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), _as_bytes(text))


def _date(value: str, notes: _Notes) -> datetime | None:
    if not value.strip():
        return None
    date = None
    for attempt in (value.strip()[:200], re.sub(r"\s*:\s*", ":", _COMMENT.sub("", value.strip()[:200]))):
        try:
            date = parsedate_to_datetime(attempt)
            break
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    if date is None:
        notes.add("unreadable Date header, left empty")
        return None
    return date if date.tzinfo else date.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------
# the raw bytes before the stdlib sees them

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_START = re.compile(rb"[!-9;-~]+[ \t]*:")
_SPACE_BEFORE_COLON = re.compile(rb"([!-9;-~]+)[ \t]+:")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD_SPLIT = re.compile(rb"\n(?=[^ \t])")
_UNFOLD = re.compile(rb"\r?\n[ \t]+")
_PARAM_FIELD = re.compile(rb"(?im)^content-(?:type|disposition)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*")
_KEEP_FIRST = {b"from", b"to", b"cc", b"reply-to", b"subject", b"date", b"message-id", b"in-reply-to",
               b"references", b"mime-version", b"content-type", b"content-transfer-encoding",
               b"content-disposition", b"auto-submitted", b"precedence", b"x-autoreply", b"x-autorespond",
               b"x-auto-response-suppress", b"x-failed-recipients"}


def _cut_param_field(field: bytes) -> bytes:
    field = field[:MAX_PARAM_FIELD_BYTES]
    at = -1
    for _ in range(MAX_PARAM_SEMICOLONS):
        at = field.find(b";", at + 1)
        if at < 0:
            return field
    return field[:at]


def _prepare(raw: bytes, notes: _Notes) -> tuple[bytes, bytes]:
    """(header section, body) with leading junk skipped and over-long fields cut; ParseError for no mail."""
    data = bytes(raw)
    if not data.strip():
        raise ParseError("empty input")
    if data.startswith(_OLE_MAGIC):
        raise ParseError("an Outlook .msg file (OLE compound document), not an RFC 5322 mail")
    pos = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    skipped_from_line = False
    while pos < len(data):  # blank lines, and one mbox "From " line
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end + 1
        line = data[pos:end]
        mbox = line.startswith((b"From ", b">From ")) and not re.match(rb"From[ \t]*:", line)
        if not line.strip() or (not skipped_from_line and mbox):
            skipped_from_line = skipped_from_line or bool(line.strip())
            pos = end
            continue
        break
    if not _HEADER_START.match(data, pos):
        raise ParseError("no header block: the input does not start with mail header fields")
    m = _HEADER_END.search(data, pos)
    header_end = m.start() if m else len(data)
    header, body = _repair_header(data[pos:header_end], notes)
    return _cap_header(header, notes), _cap_param_fields(body + data[header_end:], notes)


def _repair_header(section: bytes, notes: _Notes) -> tuple[bytes, bytes]:
    """(the header fields, the start of the body when no blank line came before it).

    A stray line among the fields (not "Name:", not indented) is joined to the field above it: the
    stdlib would end the header section there and read the fields below it as body text.
    """
    lines = section.split(b"\n")
    for i, line in enumerate(lines):  # RFC 5322's obsolete "Subject  : …" (the stdlib would stop there)
        m = _SPACE_BEFORE_COLON.match(line)
        if m:
            lines[i] = m.group(1) + b":" + line[m.end():]
    last_field = max((i for i, line in enumerate(lines) if _HEADER_START.match(line)), default=0)
    end = last_field + 1
    while end < len(lines) and lines[end][:1] in (b" ", b"\t"):
        end += 1
    body = b""
    if end < len(lines):
        notes.add("no blank line between the header and the body")
        body = b"\n\n" + b"\n".join(lines[end:])
    stray = [i for i in range(1, last_field) if lines[i][:1] not in (b" ", b"\t") and not _HEADER_START.match(lines[i])]
    for i in stray:
        lines[i] = b" " + lines[i]
    if stray:
        notes.add(f"{len(stray)} malformed header line{'s' if len(stray) > 1 else ''} joined to the field above")
    return b"\n".join(lines[:end]), body


def _cap_header(header: bytes, notes: _Notes) -> bytes:
    fields = _FIELD_SPLIT.split(header)
    capped = []
    for f in fields:
        name = f.split(b":", 1)[0].strip().lower()
        if name in (b"content-type", b"content-disposition"):
            cut = _cut_param_field(f)
        else:
            cut = f[:MAX_FIELD_BYTES]
        if len(cut) < len(f):
            shown = name.decode("ascii", "replace")[:40]
            notes.add(f"header {shown} of {len(f):,} bytes cut to {len(cut):,}")
            cut = cut.rstrip(b"\r\n")
        # unfolded here, because the stdlib keeps the line break of a boundary folded inside its quotes
        capped.append(_UNFOLD.sub(b" ", cut))
    if sum(len(f) + 1 for f in capped) > MAX_HEADER_BYTES:
        budget = MAX_HEADER_BYTES
        keep = [False] * len(capped)
        for first in (True, False):  # the fields this module reads first, then the rest in order
            for i, f in enumerate(capped):
                if not keep[i] and (f.split(b":", 1)[0].strip().lower() in _KEEP_FIRST) == first:
                    if len(f) + 1 <= budget:
                        keep[i] = True
                        budget -= len(f) + 1
        dropped = keep.count(False)
        capped = [f for f, k in zip(capped, keep, strict=True) if k]
        notes.add(f"header section over {MAX_HEADER_BYTES // 1024} KB: {dropped:,} header fields left out")
    return b"\n".join(capped)


def _cap_param_fields(body: bytes, notes: _Notes) -> bytes:
    """The parts' Content-Type and -Disposition fields capped, and unfolded where a line break splits a quote."""
    pieces, pos = [], 0
    for m in _PARAM_FIELD.finditer(body):
        field = m.group(0)
        if len(field) > MAX_PARAM_FIELD_BYTES or field.count(b";") > MAX_PARAM_SEMICOLONS:
            cut = _cut_param_field(field).rstrip(b"\r\n")
            if field.endswith(b"\r"):
                cut += b"\r"
            pieces += [body[pos:m.start()], cut]
            pos = m.end()
            notes.add(f"a part's Content-Type or Content-Disposition of {len(field):,} bytes cut to {len(cut):,}")
        elif b"\n" in field and any(line.count(b'"') % 2 for line in field.split(b"\n")):
            end = len(field.rstrip(b"\r"))
            pieces += [body[pos:m.start()], _UNFOLD.sub(b" ", field[:end]), field[end:]]
            pos = m.end()
    if not pieces:
        return body
    pieces.append(body[pos:])
    return b"".join(pieces)


# ---------------------------------------------------------------------------------------------
# notes

class _Notes(list):
    """The problems found so far, and the charset the mail's text parts declare (for unlabelled headers)."""

    hint: str | None = None

    def add(self, note: str) -> None:
        note = _one_line(note, 500)
        if note not in self and len(self) < MAX_PROBLEMS:
            self.append(note)


def _defect_note(defect) -> str:
    name = type(defect).__name__.removesuffix("Defect")
    return "MIME: " + re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


# ---------------------------------------------------------------------------------------------
# HTML

_SAFE_TAGS = (set(nh3.ALLOWED_TAGS) | {"font", "tfoot", "big", "section", "main"}) - {"area", "map"}
_SAFE_ATTRIBUTES = {
    "*": {"dir", "lang", "title", "align", "valign", "style", "width", "height", "bgcolor"},
    "a": {"href"},
    "img": {"src", "alt", "border"},
    "table": {"border", "cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "nowrap", "headers", "scope"},
    "th": {"colspan", "rowspan", "nowrap", "headers", "scope"},
    "col": {"span"}, "colgroup": {"span"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type"}, "ul": {"type"}, "li": {"value"},
    "time": {"datetime"}, "hr": {"size", "noshade"},
}
_SAFE_CSS = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "font-variant", "text-align", "text-decoration", "text-indent", "text-transform", "line-height",
    "letter-spacing", "word-spacing", "white-space", "word-break", "word-wrap", "overflow-wrap", "direction",
    "vertical-align", "display", "width", "height", "max-width", "min-width", "max-height", "min-height",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
    "border-width", "border-radius", "border-collapse", "border-spacing", "table-layout", "list-style-type",
}
_CSS_COLOUR_FUNCTION = re.compile(r"(?:rgba?|hsla?)\([\d\s.,%/]{0,80}\)", re.I)
_CSS_PLAIN_VALUE = re.compile(r"[#%,.\w\s\"'!/+-]*")
_URL_NOISE = re.compile(r"[\t\n\r]")  # browsers drop these inside URLs: "java\nscript:" runs
_C0_AND_SPACE = "".join(map(chr, range(0x21)))  # and these around them
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpe?g|gif|webp|bmp);base64,[a-z0-9+/=]*", re.I)


def _safe_style(style: str) -> str | None:
    """Only the declarations of _SAFE_CSS whose value is plain words, numbers and colours.

    Done here rather than by nh3's style filter, whose re-serialised CSS may hold escapes
    (`\75 rl(`) that a browser reads as url(.
    """
    kept = []
    for declaration in style.split(";"):
        prop, sep, value = declaration.partition(":")
        prop, value = prop.strip().lower(), value.strip()
        if sep and prop in _SAFE_CSS and value and _CSS_PLAIN_VALUE.fullmatch(_CSS_COLOUR_FUNCTION.sub("", value)):
            kept.append(f"{prop}:{value}")
    return ";".join(kept) or None


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute in ("href", "src"):
        url = _URL_NOISE.sub("", value).strip(_C0_AND_SPACE)
        if url.lower().startswith("data:"):
            # a picture may travel inside the mail; a data: page or script may not
            return url if element == "img" and attribute == "src" and _DATA_IMAGE.fullmatch(url) else None
        return url
    if attribute == "style":
        return _safe_style(value)
    return value


_CLEANER = nh3.Cleaner(
    tags=_SAFE_TAGS,
    clean_content_tags={"script", "style", "title", "template", "noscript", "xmp", "noembed", "noframes",
                        "iframe", "object", "embed", "svg", "math", "select", "textarea", "head"},
    attributes=_SAFE_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
    url_relative="deny",  # a relative link would point into this application
    set_tag_attribute_values={"a": {"target": "_blank"}},
)


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,40})[^<>]*>")
# Elements that close themselves or whose end tag may be left out: they do not deepen the tree.
_FLAT_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                  "track", "wbr", "p", "li", "dt", "dd", "td", "th", "tr", "thead", "tbody", "tfoot", "colgroup",
                  "caption", "option", "optgroup", "rb", "rt", "rp", "rtc"}


def _limit_nesting(html: str) -> str:
    """Start tags beyond MAX_HTML_DEPTH open elements dropped (their text stays).

    The HTML parser under nh3 is quadratic in nesting depth: 100,000 unclosed <div>s take 14 s.
    The depth here is a rough count, good enough for a limit no real mail comes near.
    """
    depth = 0

    def visit(m: re.Match) -> str:
        nonlocal depth
        name = m.group(2).lower()
        if name in _FLAT_ELEMENTS or m.group(0).endswith("/>"):
            return m.group(0)
        if m.group(1):
            depth = max(0, depth - 1)
            return m.group(0)
        depth += 1
        return m.group(0) if depth <= MAX_HTML_DEPTH else ""

    return _TAG.sub(visit, html)


def sanitize_html(html: str) -> str:
    """HTML from a mail with everything that could run, load a page or restyle ours taken out (nh3)."""
    return _CLEANER.clean(_limit_nesting(_no_surrogates(html.replace("\x00", ""))))


_BLOCK_TAGS = {"address", "article", "aside", "caption", "center", "dd", "details", "div", "dl", "dt",
               "figcaption", "figure", "footer", "header", "hgroup", "hr", "li", "main", "nav", "section",
               "summary", "tbody", "tfoot", "thead", "tr"}
_PARAGRAPH_TAGS = {"p", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"}
_SPACES = re.compile(r"\s+")


class _TextFromHtml(HTMLParser):
    """Readable text from sanitised (so well-formed) HTML; blockquotes become "> " lines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self.line: list[str] = []
        self.depth: int | None = None
        self.quote = 0
        self.pre = 0

    def _end_line(self):
        depth = self.quote if self.depth is None else self.depth
        self.lines.append((depth, "".join(self.line).rstrip()))
        self.line, self.depth = [], None

    def _break(self):
        if self.line:
            self._end_line()

    def _blank(self):
        self._break()
        if self.lines and self.lines[-1][1]:
            self.lines.append((self.quote, ""))

    def _write(self, text: str):
        if not self.line and not self.pre:
            text = text.lstrip()
        if text:
            if self.depth is None:
                self.depth = self.quote
            self.line.append(text)

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self._end_line()
        elif tag in _PARAGRAPH_TAGS:
            self._blank()
        elif tag in _BLOCK_TAGS:
            self._break()
        elif tag in ("td", "th") and self.line:
            self._write(" ")
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "li":
            self._write("- ")

    def handle_endtag(self, tag):
        if tag == "blockquote":
            self._break()
            self.quote = max(0, self.quote - 1)
            self._blank()
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self._blank()
        elif tag in _PARAGRAPH_TAGS:
            self._blank()
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_data(self, data):
        if self.pre:
            pieces = data.replace("\r\n", "\n").split("\n")
            for piece in pieces[:-1]:
                self._write(piece)
                self._end_line()
            self._write(pieces[-1])
        else:
            self._write(_SPACES.sub(" ", data))

    def text(self) -> str:
        self._break()
        out, blank = [], True
        for depth, line in self.lines:
            shown = ("> " * depth + line).rstrip() if depth else line
            if not line and blank:
                continue
            blank = not line
            out.append(shown)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    """Plain text of HTML, for previews, search and quoting; give it sanitised HTML."""
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    return parser.text()


_DECLARED_CHARSET = re.compile(rb"""(?i)\bcharset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)


# ---------------------------------------------------------------------------------------------
# text bodies

_CONTROLS = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127])  # all C0 but tab and line breaks


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS)
    return _no_surrogates(text.lstrip("\ufeff"))


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: soft line breaks joined, space-stuffing removed."""
    out: list[str] = []
    buf: list[str] | None = None
    buf_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        if buf is not None and depth == buf_depth:
            buf.append(content)
        else:
            if buf is not None:
                out.append(">" * buf_depth + (" " if buf_depth else "") + "".join(buf))
            buf, buf_depth = [content], depth
        if not soft:
            out.append(">" * buf_depth + (" " if buf_depth else "") + "".join(buf))
            buf = None
    if buf is not None:
        out.append(">" * buf_depth + (" " if buf_depth else "") + "".join(buf))
    return "\n".join(out)


_UU_BEGIN = re.compile(r"begin(?:-base64)? [0-7]{3,4} (\S.{0,300})")


def _uudecode(lines: list[str]) -> bytes:
    out = []
    for line in lines:
        if not line or line == "`":
            continue
        data = line.encode("latin-1", "replace")
        try:
            out.append(binascii.a2b_uu(data))
        except binascii.Error:
            # the same workaround as the stdlib's: broken encoders pad lines wrongly
            try:
                out.append(binascii.a2b_uu(data[:((data[0] - 32) & 63) * 4 // 3 + 1]))
            except binascii.Error:
                pass
    return b"".join(out)


def _uu_line(line: str) -> bool:
    return not line or (len(line) <= 90 and " " <= line[0] <= "`" and all(" " <= c <= "`" for c in line))


def _take_uuencoded(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Text with its uuencoded files taken out, and those files (name, data)."""
    if "begin " not in text:
        return text, []
    lines = text.split("\n")
    kept, files, i = [], [], 0
    while i < len(lines):
        m = _UU_BEGIN.fullmatch(lines[i].rstrip())
        if m:
            j = i + 1
            while j < len(lines) and lines[j].rstrip() != "end" and _uu_line(lines[j].rstrip()):
                j += 1
            if j < len(lines) and lines[j].rstrip() == "end":
                files.append((m.group(1).strip(), _uudecode([ln.rstrip() for ln in lines[i + 1:j]])))
                i = j + 1
                continue
        kept.append(lines[i])
        i += 1
    return "\n".join(kept), files


# ---------------------------------------------------------------------------------------------
# filenames

_RESERVED_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_EXTENSIONS = {
    "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "text/csv": ".csv",
    "message/rfc822": ".eml", "message/global": ".eml", "message/delivery-status": ".txt",
    "text/rfc822-headers": ".txt", "application/pdf": ".pdf", "application/ms-tnef": ".dat",
    "application/pgp-signature": ".asc", "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s", "application/pkcs7-mime": ".p7m", "application/x-pkcs7-mime": ".p7m",
    "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp", "image/bmp": ".bmp",
    "application/zip": ".zip", "application/octet-stream": ".bin",
}
_MIME_TYPES = mimetypes.MimeTypes()  # the built-in table only: the same on every machine


def _extension(content_type: str) -> str:
    return (_EXTENSIONS.get(content_type) or _MIME_TYPES.guess_extension(content_type, strict=False)
            or (".txt" if content_type.startswith("text/") else ".bin"))


def safe_filename(name: str | None, content_type: str = "application/octet-stream") -> str:
    """A sender's filename made safe to show and to send in Content-Disposition; never empty."""
    name = unicodedata.normalize("NFC", _no_surrogates(name or ""))
    name = re.split(r"[/\\]", name)[-1]  # no directories, on any system
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"))
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.split(".")[0].strip().lower() in _RESERVED_NAMES or (not dot and name.lower() in _RESERVED_NAMES):
        name = "_" + name
    if len(name) > MAX_FILENAME:
        ext = ("." + ext) if dot and 0 < len(ext) <= 16 else ""
        name = name[:MAX_FILENAME - len(ext)].rstrip(" .") + ext
    if not name.strip(" ._"):
        base = "message" if content_type.startswith("message/") else "attachment"
        name = base + _extension(content_type)
    return name


# ---------------------------------------------------------------------------------------------
# writing parts back (without recursion: subtrees can be hundreds of levels deep)

def _entity_bytes(part: Message, nl: bytes, headers: bool = True) -> bytes:
    out: list[bytes] = []
    stack: list = [(part, headers)]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
            continue
        entity, with_headers = item
        if with_headers:
            for name, value in entity.raw_items():
                out.append(_as_bytes(str(name)) + b": " + _as_bytes(str(value)) + nl)
            out.append(nl)
        payload = _payload(entity)
        if isinstance(payload, list):
            seq: list = []
            if entity.get_content_maintype() == "multipart":
                boundary = _as_bytes(_boundary(entity))
                if entity.preamble:
                    seq.append(_as_bytes(entity.preamble) + nl)
                for child in payload:
                    seq += [b"--" + boundary + nl, (child, True), nl]
                seq.append(b"--" + boundary + b"--" + nl)
                if entity.epilogue:
                    seq.append(_as_bytes(entity.epilogue))
            else:  # message/rfc822: one message; message/delivery-status: header blocks
                for i, child in enumerate(payload):
                    if i:
                        seq.append(nl)
                    seq.append((child, True))
            stack.extend(reversed(seq))
        elif payload is not None:
            out.append(_as_bytes(_payload(entity)))
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# the MIME walk

_NOT_BASE64 = bytes(b for b in range(256) if not (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/")))


def _boundary(entity: Message) -> str:
    try:  # the one the stdlib split the part with
        boundary = entity.get_boundary()
    except Exception:  # noqa: BLE001 - hostile parameters can upset it
        boundary = None
    if not isinstance(boundary, str) or not boundary:
        boundary = _parse_params(_Headers(entity).raw("content-type") or "", _Notes())[1].get("boundary")
    return boundary or "boundary"


def _b64(data: bytes) -> bytes:
    data = data.translate(None, _NOT_BASE64)
    if len(data) % 4 == 1:
        data = data[:-1]
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))


class _Body:
    def __init__(self):
        self.texts: list[str] = []
        self.htmls: list[str] = []

    def extend(self, other: _Body) -> None:
        self.texts += other.texts
        self.htmls += other.htmls


_REPORT_PARTS = {"message/delivery-status", "message/global-delivery-status", "message/disposition-notification",
                 "message/feedback-report", "message/global-disposition-notification"}


class _Walker:
    def __init__(self, notes: _Notes, nl: bytes):
        self.notes = notes
        self.nl = nl
        self.count = 0
        self.attachments: list[Attachment] = []
        self.overflow: list[Message] = []
        self.dsn = False
        self.enclosed_ids: list[str] = []   # Message-IDs of attached messages and returned headers

    # -- one entity's facts

    def _content_type(self, headers: _Headers, part: Message) -> tuple[str, dict[str, str], bool]:
        """(type/subtype, parameters, whether the sender's type was usable)."""
        value, params = _parse_params(headers.raw("content-type") or "", self.notes)
        if not _MIME_TYPE.fullmatch(value):
            if value:
                self.notes.add(f"invalid content type {_label(value)}")
            return part.get_default_type(), params, False
        return value, params, True

    def _data(self, part: Message) -> bytes:
        payload = _payload(part)
        if isinstance(payload, list):
            return _entity_bytes(part, self.nl, headers=False)
        raw = _as_bytes(_payload(part) or "")
        cte = _transfer_encoding(_Headers(part))
        try:
            if "base64" in cte:
                return _b64(raw)
            if "quoted" in cte:
                return binascii.a2b_qp(raw)
        except (binascii.Error, ValueError):
            self.notes.add(f"undecodable {cte} body, kept as sent")
        return raw

    # -- the walk

    def visit(self, part: Message, depth: int, force_attachment: bool = False) -> _Body:
        self.count += 1
        for defect in getattr(part, "defects", ()):
            self.notes.add(_defect_note(defect))
        headers = _Headers(part)
        ctype, params, declared = self._content_type(headers, part)
        payload = _payload(part)
        if ctype.startswith("multipart/") and isinstance(payload, list):
            if depth >= MAX_DEPTH:
                self.notes.add(f"MIME nesting deeper than {MAX_DEPTH}: a subtree kept as one attachment")
                self._attach("nested-part.eml", "message/rfc822", _entity_bytes(part, self.nl), None, False)
                return _Body()
            return self._multipart(ctype, params, payload, depth, force_attachment)
        return self._leaf(part, headers, ctype, params, declared, force_attachment)

    def _children(self, children: list, depth: int, roles: list[bool]) -> list[_Body]:
        bodies = []
        for i, child in enumerate(children):
            if self.count >= MAX_PARTS:
                self.overflow += children[i:]
                break
            if isinstance(child, Message):
                bodies.append(self.visit(child, depth + 1, roles[i]))
        return bodies

    def _multipart(self, ctype: str, params: dict, children: list, depth: int, force: bool) -> _Body:
        subtype = ctype.split("/", 1)[1]
        body = _Body()
        if subtype == "alternative" and not force:
            bodies = self._children(children, depth, [False] * len(children))
            # the last alternative is the richest; plain and HTML are chosen separately
            for b in reversed(bodies):
                if b.texts:
                    body.texts = b.texts
                    break
            for b in reversed(bodies):
                if b.htmls:
                    body.htmls = b.htmls
                    break
            return body
        if subtype == "related" and not force:
            start = params.get("start", "").strip().strip("<>")
            root = 0
            if start:
                for i, child in enumerate(children):
                    if isinstance(child, Message) and _content_id(_Headers(child)) == start:
                        root = i
                        break
            roles = [i != root for i in range(len(children))]
        elif subtype == "signed" and not force:
            roles = [i > 0 for i in range(len(children))]
        elif subtype == "encrypted" or force:
            roles = [True] * len(children)
        else:  # mixed, report, digest, parallel and whatever else: the parts in order
            roles = [False] * len(children)
        for b in self._children(children, depth, roles):
            body.extend(b)
        return body

    def _leaf(self, part: Message, headers: _Headers, ctype: str, params: dict, declared: bool,
              force: bool) -> _Body:
        body = _Body()
        disposition, disposition_params = _parse_params(headers.raw("content-disposition") or "", self.notes)
        raw_name = disposition_params.get("filename") or params.get("name") or ""
        # cut only by safe_filename(), which keeps the extension
        filename = _one_line(_decode_words(raw_name, self.notes), MAX_PARAM_FIELD_BYTES) if raw_name else ""
        content_id = _content_id(headers)
        inline = disposition == "inline" or (not disposition and content_id is not None)
        payload = _payload(part)
        cte = _transfer_encoding(headers)

        if isinstance(payload, list) and ctype in ("message/rfc822", "message/global", "message/news"):
            for sub in payload[:1]:
                if isinstance(sub, Message):
                    ids = _message_ids(_header_str(_Headers(sub).raw("message-id") or "", "Message-ID", _Notes()))
                    self.enclosed_ids += ids[:1]
                    if not filename:
                        subject = _one_line(_decode_words(_header_str(_Headers(sub).raw("subject") or "", "Subject",
                                                                     _Notes())), 100)
                        filename = (subject or "message") + ".eml"
            data = _entity_bytes(payload[0], self.nl) if payload and isinstance(payload[0], Message) else b""
            self._attach(filename or "message.eml", "message/rfc822", data, content_id, inline)
            return body
        if ctype in _REPORT_PARTS:
            self.dsn = self.dsn or "delivery-status" in ctype
            self._attach(filename or ctype.split("/")[1] + ".txt", ctype, self._data(part), content_id, False)
            return body
        if ctype in ("text/rfc822-headers", "text/rfc822-header"):
            headers = self._data(part)
            m = re.search(rb"(?im)^message-id[ \t]*:[ \t]*(.{0,1000})$", headers)
            if m:
                self.enclosed_ids += _message_ids(_cp1252(m.group(1)))[:1]
            self._attach(filename or "original-headers.txt", ctype, headers, content_id, False)
            return body
        if "uu" in cte and not isinstance(payload, list):
            _, files = _take_uuencoded(_cp1252(_as_bytes(_payload(part) or "")))
            for name, data in files:
                self._attach(filename or name, _guess_type(name), data, content_id, inline)
            if files:
                return body
        # an explicitly inline text part is shown as text even when it has a name (Netscape's inline files)
        is_body = not force and (disposition == "inline" or (disposition != "attachment" and not filename))
        if is_body and (ctype in ("text/plain", "text/html") or ctype.startswith("multipart/")):
            data = self._data(part)
            if ctype == "text/html":
                charset = params.get("charset")
                if not charset:
                    m = _META_CHARSET.search(data[:4096])
                    charset = m.group(1).decode("ascii") if m else None
                html = _clean_text(_decode(data, charset, "the HTML part", self.notes))
                if len(html) > MAX_BODY_CHARS:
                    self.notes.add(f"HTML body of {len(html):,} characters: shown cut, kept whole as body.html")
                    self._attach("body.html", "text/html", data, None, False)
                    html = html[:MAX_BODY_CHARS]
                body.htmls.append(sanitize_html(html))
                return body
            if ctype.startswith("multipart/"):
                self.notes.add(f"{ctype} without usable parts, read as text")
            text = _clean_text(_decode(data, params.get("charset"), "the text part", self.notes))
            if params.get("format", "").lower() == "flowed":
                text = _unflow(text, params.get("delsp", "").lower() == "yes")
            text, files = _take_uuencoded(text)
            for name, file_data in files:
                self._attach(name, _guess_type(name), file_data, None, False)
            if len(text) > MAX_BODY_CHARS:
                self.notes.add(f"text body of {len(text):,} characters: shown cut, kept whole as body.txt")
                self._attach("body.txt", "text/plain", data, None, False)
                text = text[:MAX_BODY_CHARS]
            body.texts.append(text)
            return body
        if filename and (not declared or ctype == "application/octet-stream"):
            ctype = _guess_type(filename, ctype if declared else "application/octet-stream")
        self._attach(filename, ctype, self._data(part), content_id, inline)
        return body

    def _attach(self, filename: str, ctype: str, data: bytes, content_id: str | None, inline: bool) -> None:
        self.attachments.append(Attachment(safe_filename(filename, ctype), ctype, data, content_id, inline))

    def finish(self) -> None:
        if not self.overflow:
            return
        container = Message()
        container["Content-Type"] = 'multipart/mixed; boundary="=_samsyn_remaining_parts"'
        container.set_payload([p for p in self.overflow if isinstance(p, Message)])
        self.notes.add(f"part limit {MAX_PARTS} reached: the remaining {len(self.overflow):,} parts kept as one "
                       "attachment")
        self._attach("remaining-parts.eml", "message/rfc822", _entity_bytes(container, self.nl), None, False)


_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+*-]{1,127}")


def _guess_type(filename: str, default: str = "application/octet-stream") -> str:
    guessed = _MIME_TYPES.guess_type(filename, strict=False)[0]
    return guessed.lower() if guessed and _MIME_TYPE.fullmatch(guessed.lower()) else default


def _transfer_encoding(headers: _Headers) -> str:
    return _as_bytes(headers.raw("content-transfer-encoding") or "").decode("ascii", "replace").strip().lower()


def _content_id(headers: _Headers) -> str | None:
    value = headers.raw("content-id")
    if value is None:
        return None
    value = _one_line(_header_str(value, "Content-ID", _Notes()), 998)
    return "".join(value.split()).replace("<", "").replace(">", "") or None


# ---------------------------------------------------------------------------------------------
# auto-replies and bounces

_AUTO_SUBJECT = re.compile(
    r"\s*(?:automatic reply|automatiskt svar|automatisk svar|automatisk besked|autosvar|auto[- ]?reply|"
    r"auto[- ]?response|frånvaromeddelande|frånvaro|fraværsmelding|fravær|out of (?:the )?office(?: auto ?reply)?|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|absence du bureau|poissaoloilmoitus|"
    r"automaattinen vastaus|automatisch antwoord|afwezigheidsbericht|risposta automatica|respuesta automática|"
    r"resposta automática|automatyczna odpowiedź|fraværende|autoreply)\s*(?::|$|(?=(?:re|sv|vs|aw|fw|fwd)\s*:))", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"\s*(?:undeliver|undelivered|delivery status notification|delivery failure|delivery has failed|"
    r"returned mail|mail delivery failed|failure notice|mail system error|non[- ]?delivery|"
    r"olevererbar|det gick inte att leverera|kunde inte levereras|unzustellbar|delayed mail|"
    r"warning: could not send)", re.I)
_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


def _auto_submitted(headers: _Headers, subject: str, replying: bool, notes: _Notes) -> tuple[bool, bool]:
    """(an automatic mail, the sender asks for no automatic answer to it)."""
    auto = False
    value = headers.text("auto-submitted", notes).strip().lower()
    if value and re.split(r"[\s;(]", value, maxsplit=1)[0] != "no":
        auto = True
    if headers.text("precedence", notes).strip().lower() in ("bulk", "junk", "list", "auto_reply", "auto-reply"):
        auto = True
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if headers.raw(name) is not None and headers.text(name, notes).strip().lower() not in ("no", "false", "0"):
            auto = True
    suppress = set(re.split(r"[\s,;]+", headers.text("x-auto-response-suppress", notes).strip().lower()))
    asks = bool(suppress & {"oof", "autoreply", "all"})
    # Exchange puts "OOF"/"All" on its own out-of-office replies; on a reply that means an automatic one
    if suppress & {"oof", "all"} and (replying or headers.raw("x-ms-exchange-inbox-rules-loop") is not None):
        auto = True
    if _AUTO_SUBJECT.match(subject):
        auto = True
    return auto, asks


# ---------------------------------------------------------------------------------------------
# parse

def parse(raw: bytes) -> ParsedMail:
    """A raw RFC 5322 mail, read best-effort; ParseError only when there is nothing mail-like in it."""
    notes = _Notes()
    header, body = _prepare(raw, notes)
    nl = b"\r\n" if b"\r\n" in body[:4096] or b"\r\n" in header[:4096] else b"\n"
    declared = _DECLARED_CHARSET.search(header) or _DECLARED_CHARSET.search(body, 0, 256 * 1024)
    hint = _codec(declared.group(1).decode("ascii")) if declared else None
    notes.hint = hint if hint and hint != "ascii" and not hint.startswith("utf") and hint not in _LATIN_CODECS else None
    try:
        feed = BytesFeedParser(policy=compat32)
        feed.feed(header)  # fed in two pieces: joining them would copy a 50 MB mail once more
        feed.feed(body)
        msg = feed.close()
    except RecursionError:
        notes.add("MIME nesting too deep to parse: the body kept as one attachment")
        msg = BytesParser(policy=compat32).parsebytes(header + body, headersonly=True)
        del msg["Content-Type"]
        msg["Content-Type"] = "application/octet-stream"
    headers = _Headers(msg)

    subject = _one_line(_decode_words(headers.text("subject", notes), notes), MAX_SUBJECT)
    senders = _addresses(headers.text("from", notes), "From", notes) if headers.raw("from") is not None else []
    if headers.raw("from") is None:
        notes.add("no From header")
    reply_to = _addresses(headers.text("reply-to", notes), "Reply-To", notes)
    to = _addresses(", ".join(_header_str(v, "To", notes) for v in headers.fields.get("to", [])), "To", notes)
    cc = _addresses(", ".join(_header_str(v, "Cc", notes) for v in headers.fields.get("cc", [])), "Cc", notes)
    message_ids = _message_ids(headers.text("message-id", notes))
    in_reply_to = _message_ids(headers.text("in-reply-to", notes))[:MAX_IDS]
    references = _message_ids(headers.text("references", notes))
    if len(references) > MAX_IDS:  # the thread's root and its newest messages are what threading needs
        references = references[:1] + references[-(MAX_IDS - 1):]

    walker = _Walker(notes, nl)
    body = walker.visit(msg, 0)
    walker.finish()
    text = "\n\n".join(t.strip("\n") for t in body.texts if t.strip())
    html = "\n".join(body.htmls).strip() or None
    if not text.strip() and html:
        text = html_to_text(html)

    top_type, top_params, _ = walker._content_type(headers, msg)
    report_type = top_params.get("report-type", "").lower() if top_type == "multipart/report" else ""
    sender = senders[0] if senders else Address("", "")
    from_daemon = sender.address.split("@")[0] in _DAEMONS or (not sender.address and "mailer-daemon" in
                                                                 sender.name.lower())
    bounce = (report_type == "delivery-status" or top_type == "message/delivery-status"
              or (from_daemon and (walker.dsn or headers.raw("x-failed-recipients") is not None
                                   or bool(_BOUNCE_SUBJECT.match(subject)))))
    bounced = None
    if bounce:
        own = message_ids[0] if message_ids else None
        candidates = walker.enclosed_ids + _message_ids(" ".join(
            re.findall(r"(?im)^[ \t>]*message-id[ \t]*:[ \t]*(<[^<>\s]{1,998}>)", text)))
        bounced = next((i for i in candidates if i != own), None)
    auto, asks = _auto_submitted(headers, subject, bool(in_reply_to or references), notes)
    auto = auto or bounce or top_type == "multipart/report"

    return ParsedMail(
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=tuple(in_reply_to),
        references=tuple(references),
        subject=subject,
        sender=sender,
        reply_to=reply_to[0] if reply_to else None,
        to=tuple(to),
        cc=tuple(cc),
        date=_date(headers.text("date", notes), notes),
        text=_clean_text(text),
        html=html,
        attachments=tuple(walker.attachments),
        auto_submitted=auto,
        bounce=bounce,
        bounced_message_id=bounced,
        problems=tuple(notes),
        auto_reply_suppressed=asks or auto,
    )


# ---------------------------------------------------------------------------------------------
# quoted history

_SIGNATURE = re.compile(r"(?:-- ?|sent from my \S.*|skickat från min \S.*|sendt fra min \S.*|"
                        r"get outlook for \S.*|hämta outlook för \S.*|skickat från outlook.*)", re.I)
_ORIGINAL = re.compile(r"-{2,}\s*(?:original message|ursprungligt meddelande|originalmeddelande|"
                       r"opprinnelig melding|oprindelig meddelelse|ursprüngliche nachricht|message d'origine|"
                       r"alkuperäinen viesti)\s*-{2,}", re.I)
_FROM_LINE = re.compile(r"\*?(?:from|från|fra|von|de|van|lähettäjä)\s*:\*?\s*\S.*", re.I)
_SENT_LINE = re.compile(r"\*?(?:sent|skickat|sendt|gesendet|envoyé|date|datum|dato|verzonden|lähetetty)\s*:", re.I)
_WROTE = re.compile(r"\b(?:wrote|skrev|schrieb|a écrit|escribió|scrisse|schreef|kirjoitti|napisał)\b", re.I)
_WROTE_END = re.compile(r"\b(?:wrote|skrev|schrieb|a écrit|escribió|scrisse|schreef|kirjoitti|napisał)\s*:$", re.I)
_ATTRIBUTION_START = re.compile(r"(?:on|den|am|le|el|il|op|em|d\.)\s", re.I)
_STRONG = re.compile(r"@|\d{1,2}[:.]\d{2}")


def _attribution(joined: str) -> bool:
    """ "On … wrote:", "Den … skrev …:" and their kin (checked without backtracking regexes)."""
    return bool(_ATTRIBUTION_START.match(joined) and joined.endswith(":") and _WROTE.search(joined))


def fold_quoted(text: str) -> tuple[str, str]:
    """(the new part, the quoted history and signature) of a mail's text; together they are the whole text."""
    lines = text.splitlines(keepends=True)
    n = len(lines)
    starts = [0] * (n + 1)
    for i, line in enumerate(lines):
        starts[i + 1] = starts[i] + len(line)
    stripped = [ln.strip() for ln in lines]

    def quoted(i: int) -> bool:
        return stripped[i].startswith(">")

    def followed_by_quote(i: int) -> bool:
        j = i + 1
        while j < n and not stripped[j]:
            j += 1
        return j < n and quoted(j)

    cut = None
    for i in range(n):
        s = stripped[i]
        if not s or len(s) > 1000 or quoted(i):
            continue
        if lines[i].rstrip("\r\n") in ("-- ", "--") or _SIGNATURE.fullmatch(s) or _ORIGINAL.fullmatch(s):
            cut = i
            break
        if _FROM_LINE.fullmatch(s) and any(_SENT_LINE.match(stripped[j]) for j in range(i + 1, min(n, i + 6))):
            cut = i - 1 if i > 0 and re.fullmatch(r"_{10,}", stripped[i - 1]) else i
            break
        if s.endswith(":"):
            # an attribution may be wrapped over up to three lines
            first = i
            while first > i - 2 and first > 0 and stripped[first - 1] and not quoted(first - 1) \
                    and len(stripped[first - 1]) <= 500:
                first -= 1
            found = None
            for k in range(first, i + 1):
                joined = " ".join(stripped[k:i + 1])
                if _attribution(joined) and (followed_by_quote(i) or _STRONG.search(joined)):
                    found = k
                    break
            if found is None and _WROTE_END.search(s) and followed_by_quote(i):
                found = i
            if found is not None:
                cut = found
                break
    # a trailing block of quoted lines
    j = n
    while j > 0 and (not stripped[j - 1] or quoted(j - 1)):
        j -= 1
    while j < n and not stripped[j]:
        j += 1
    if j < n and (cut is None or j < cut):
        cut = j
    if cut is None:
        return text, ""
    at = starts[cut]
    if not text[:at].strip():  # nothing new above it (a forward, or all quote): hide nothing
        return text, ""
    return text[:at], text[at:]
