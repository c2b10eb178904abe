"""Character encodings of imported files: the `encoding` option, and text formats made UTF-8.

GeoJSON is UTF-8 (RFC 7946), and GDAL reads CSV and a KML without an XML encoding declaration
as UTF-8 too. Such a file that is not valid UTF-8 is refused, with the offset of its first bad
byte, unless the `encoding` option names its encoding; it is then decoded into a UTF-8 copy for
GDAL, as is a KML declaring another encoding (GDAL's XML parser knows only a few). Characters
that PostgreSQL cannot store and that GDAL would silently cut or replace (NUL, and in GeoJSON
the escapes \\u0000 and unpaired surrogates such as \\ud800) are refused with their line.
A Shapefile's .dbf whose encoding neither a .cpg nor its header names is decoded as what its
bytes fit: UTF-8, else CP1252, else ISO-8859-1 (`dbf_encoding`).

    >>> with utf8_text(Path("titres.csv"), "csv", "titres.csv", codec("cp1252")) as utf8:
    ...     frame = pyogrio.read_dataframe(utf8)  # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import mmap
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from geo_service.errors import BrokenFile, InvalidInput
from geo_service.problems import known, msg

TEXT_FORMATS = {"geojson": ".geojson", "csv": ".csv", "kml": ".kml"}  # and the suffix of a copy
UTF8 = "utf-8"
CHUNK_BYTES = 1 << 22
# What a .dbf without .cpg nor language driver is decoded as: the first that decodes all of it.
DBF_GUESSES = (UTF8, "cp1252", "iso8859-1")
# Language driver ids that name no encoding: none, and 0x57 ("ANSI": the code page of the
# Windows that wrote it, which GDAL takes for ISO-8859-1).
_DBF_UNNAMED = {0x00, 0x57}
_DBF_TEXT_TYPES = {b"C", b"N", b"F", b"D", b"L"}  # dBase III: every byte of a record is text
# What Python's codecs say of a byte they cannot decode, when we can say it in French too.
_CODEC_REASONS = {
    "invalid start byte": msg("codec.invalid_start_byte"),
    "invalid continuation byte": msg("codec.invalid_continuation_byte"),
    "unexpected end of data": msg("codec.unexpected_end"),
    "character maps to <undefined>": msg("codec.undefined"),
}
_XML_DECLARATION = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']"
)
_XML_DECLARATION_TEXT = re.compile(
    r"^(\ufeff?\s*<\?xml[^>]*?\bencoding\s*=\s*[\"'])[A-Za-z][A-Za-z0-9._-]*([\"'])"
)
# A valid surrogate pair first, so that its second half is not taken for a lone one.
_JSON_ESCAPE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})"
)


def codec(encoding: str | None) -> str | None:
    """The Python codec name of an `encoding` option ('latin-1' -> 'iso8859-1'), None when not
    given; InvalidInput for a name that is no text encoding."""
    if not encoding:
        return None
    try:
        "a".encode(encoding)  # refuses the codecs that are no text encodings (base64, rot13...)
        return codecs.lookup(encoding).name
    except LookupError:
        raise InvalidInput(
            msg("encoding.unknown", encoding=encoding), where={"encoding": encoding}
        ) from None


def _declared(path: Path, filename: str) -> str | None:
    """The encoding an XML (KML) file declares in its first line, if any."""
    with path.open("rb") as f:
        match = _XML_DECLARATION.match(f.read(1024))
    if match is None:
        return None
    name = match.group(1).decode("ascii")
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise BrokenFile(
            msg("encoding.declared_unknown", file=filename, encoding=name),
            where={"file": filename, "encoding": name},
        ) from None


def _undecodable(
    path: Path, fmt: str, filename: str, source: str, given: bool, exc: UnicodeDecodeError, at: int
) -> BrokenFile:
    bad = exc.object[exc.start : exc.start + 1].hex().upper()
    where = {"file": filename, "offset": at, "encoding": source}
    said = {
        "file": filename,
        "byte": bad,
        "offset": at,
        "reason": known(exc.reason, _CODEC_REASONS),
    }
    if given:
        return BrokenFile(msg("encoding.undecodable", encoding=source, **said), where=where)
    with path.open("rb") as f:
        utf16 = f.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    rule = {
        "geojson": msg("encoding.rule_geojson"),
        "csv": msg("encoding.rule_csv"),
        "kml": msg("encoding.rule_kml"),
    }[fmt]
    hint = msg("encoding.hint_utf16") if utf16 else msg("encoding.hint_resave")
    return BrokenFile(msg("encoding.not_utf8", rule=rule, hint=hint, **said), where=where)


def _decoded(path: Path, fmt: str, filename: str, source: str, given: bool) -> Iterator[str]:
    """The text of `path` decoded from `source`, a chunk at a time; BrokenFile at a bad byte."""
    decoder = codecs.getincrementaldecoder(source)(errors="strict")
    offset = 0  # bytes of `path` handed to the decoder so far
    with path.open("rb") as f:
        while True:
            chunk = f.read(CHUNK_BYTES)
            pending = len(decoder.getstate()[0])  # the bytes it kept back from the last chunk
            try:
                yield decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                raise _undecodable(path, fmt, filename, source, given, exc, at) from None
            if not chunk:
                return
            offset += len(chunk)


def _position(text: mmap.mmap, at: int) -> tuple[int, int, str]:
    """Line and column (1-based, in characters) of byte `at` of UTF-8 `text`, and the text
    before it on its line (at most 40 characters)."""
    start = text.rfind(b"\n", 0, at) + 1
    before = text[start:at].decode(UTF8, "replace")
    return text[:start].count(b"\n") + 1, len(before) + 1, before[-40:]


def _refuse_character(text: mmap.mmap, at: int, what: str, filename: str) -> BrokenFile:
    line, column, before = _position(text, at)
    return BrokenFile(
        msg(
            "encoding.unstorable", file=filename, what=what, line=line, column=column, before=before
        ),
        where={"file": filename, "line": line, "column": column},
    )


def _escaped(text: mmap.mmap, at: int) -> bool:
    """Whether the backslash at `at` is itself escaped (an odd run of backslashes before it)."""
    run = 0
    while at - run > 0 and text[at - run - 1] == ord("\\"):
        run += 1
    return run % 2 == 1


def _check_characters(path: Path, fmt: str, filename: str) -> None:
    """Refuse NUL characters in UTF-8 `path`, and in GeoJSON the escapes of NUL and of unpaired
    surrogates (GDAL cuts strings at a NUL and replaces lone surrogates by U+FFFD)."""
    if path.stat().st_size == 0:
        return
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as text:
        at = text.find(b"\x00")
        if at >= 0:
            raise _refuse_character(text, at, msg("character.nul"), filename)
        if fmt != "geojson":
            return
        for match in _JSON_ESCAPE.finditer(text):
            escape = match.group().decode("ascii")
            if len(escape) > 6 or _escaped(text, match.start()):
                continue
            what = (
                msg("character.nul_escape")
                if escape == "\\u0000"
                else msg("character.surrogate_escape", escape=escape)
            )
            raise _refuse_character(text, match.start(), what, filename)


def _transcode(path: Path, target: Path, fmt: str, filename: str, source: str, given: bool) -> None:
    """Write `path`, decoded from `source`, to `target` as UTF-8; a KML's declaration then says
    UTF-8, or GDAL would decode the copy with the original's encoding."""
    with target.open("w", encoding=UTF8, newline="") as out:
        for n, text in enumerate(_decoded(path, fmt, filename, source, given)):
            if n == 0 and fmt == "kml":
                text = _XML_DECLARATION_TEXT.sub(r"\1UTF-8\2", text, count=1)
            out.write(text)


def dbf_encoding(dbf: IO[bytes]) -> str | None:
    """The encoding of the text of the .dbf read from `dbf`, guessed from its bytes when its
    header names none: UTF-8 when all its text (field names and records) is valid UTF-8, else
    CP1252 (Windows' Western code page, which ArcGIS and Excel write), else ISO-8859-1, which
    decodes any byte. None when the header's language driver names an encoding (GDAL honours
    it) or the file is no dBase III table (GDAL then says what is wrong).

    >>> dbf_encoding(Path("titres.dbf").open("rb"))  # doctest: +SKIP
    'cp1252'
    """
    header = dbf.read(32)
    if len(header) < 32 or header[29] not in _DBF_UNNAMED:
        return None
    size = int.from_bytes(header[8:10], "little")
    descriptors = dbf.read(max(size - 32, 0))
    fields = [descriptors[i : i + 32] for i in range(0, len(descriptors) - 31, 32)]
    fields = [f for f in fields if f[0] != 0x0D]  # the descriptors end with 0x0D
    if any(f[11:12] not in _DBF_TEXT_TYPES for f in fields):
        return None  # binary fields (dBase 7, Visual FoxPro) are no text to decode
    names = b"".join(f[:11].split(b"\x00")[0] for f in fields)
    decoders = {e: codecs.getincrementaldecoder(e)(errors="strict") for e in DBF_GUESSES[:-1]}
    chunk = names
    while decoders and chunk:
        for encoding, decoder in list(decoders.items()):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                del decoders[encoding]
        chunk = dbf.read(CHUNK_BYTES)
    for encoding, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[encoding]
    return next((e for e in DBF_GUESSES if e in decoders), DBF_GUESSES[-1])


@contextmanager
def utf8_text(path: Path, fmt: str, filename: str, encoding: str | None) -> Iterator[Path]:
    """The UTF-8 file GDAL should read for the GeoJSON, CSV or KML at `path`: `path` itself when
    it is valid UTF-8, else a copy decoded from `encoding` (a codec name, see `codec`) or from
    the encoding a KML declares, removed on leaving. BrokenFile when it cannot be decoded or
    holds characters PostgreSQL cannot store."""
    declared = _declared(path, filename) if fmt == "kml" else None
    source = encoding or declared or UTF8
    if source == UTF8 and declared in (None, UTF8):
        for _ in _decoded(path, fmt, filename, source, given=encoding is not None):
            pass
        _check_characters(path, fmt, filename)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="geo-service-text-") as folder:
        copy = Path(folder) / f"utf8{TEXT_FORMATS[fmt]}"
        _transcode(path, copy, fmt, filename, source, given=encoding is not None or bool(declared))
        _check_characters(copy, fmt, filename)
        yield copy
