"""Zip archives checked with the zipfile module before GDAL opens them, and the Shapefiles inside.

GDAL reads a zipped Shapefile in place (/vsizip/) and nothing is ever extracted; an archive is
still refused before GDAL sees it when an entry would escape the folder it were extracted to
(`../`, an absolute path, a drive letter, the same through backslashes), is a symbolic link or
encrypted, when its central directory is corrupt, or when it looks like a zip bomb: more entries,
more expanded bytes or a higher compression ratio than `ImportSettings` allow.

    >>> shapefile_member(Path("cadastre.zip"), "cadastre.zip", table="titres").shp  # doctest: +SKIP
    'Cadastre 2024/SHP/titres.shp'
"""

from __future__ import annotations

import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from geo_service.errors import BrokenFile, InvalidInput, PayloadTooLarge, UnsupportedFormat
from geo_service.io.formats import library_said
from geo_service.problems import Message, msg
from geo_service.settings import ImportSettings, get_settings

# Entries expanding to less than this are harmless whatever their ratio, and small files
# (a .prj, a .cpg) compress erratically.
RATIO_FLOOR = 2**20  # bytes
# A central directory record is 46 bytes and a name; Windows paths stay far below this average,
# so a directory larger than entries x this is refused before zipfile parses (and holds) it.
MAX_RECORD_BYTES = 1024
_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_DRIVE = re.compile(r"[A-Za-z]:")
# Folders and files that archivers add and that are no Shapefiles even when named *.shp:
# macOS resource forks (__MACOSX/, ._name.shp).
_JUNK_FOLDERS = {"__MACOSX"}
_JUNK_PREFIX = "._"
MAX_LISTED = 100  # Shapefile paths listed in an error


def _declared_directory(path: Path, filename: str) -> int:
    """The size of the central directory in bytes, as the archive's end record declares it."""
    with path.open("rb") as f:
        size = f.seek(0, 2)
        tail_size = min(size, _END.size + 0xFFFF + _END64_LOCATOR.size)  # 0xFFFF: longest comment
        f.seek(size - tail_size)
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _END.size:
            raise BrokenFile(msg("zip.no_end", file=filename), where={"file": filename})
        entries, directory = struct.unpack_from("<HL", tail, at + 10)  # of all disks; bytes
        locator = at - _END64_LOCATOR.size
        if (entries == 0xFFFF or directory == 0xFFFFFFFF) and locator >= 0:
            signature, _, offset, _ = _END64_LOCATOR.unpack_from(tail, locator)
            if signature == b"PK\x06\x07":
                f.seek(offset)
                record = f.read(_END64.size)
                if len(record) == _END64.size and record.startswith(b"PK\x06\x06"):
                    directory = _END64.unpack(record)[8]
    return int(directory)


def _open(path: Path, filename: str, limits: ImportSettings) -> list[zipfile.ZipInfo]:
    """The entries of the archive, once its end record declares a central directory of a size
    the limits allow (zipfile parses and holds a whole directory in memory at once)."""
    directory = _declared_directory(path, filename)
    if directory > limits.zip_max_entries * MAX_RECORD_BYTES:
        raise PayloadTooLarge(
            msg(
                "zip.directory_too_large",
                file=filename,
                size=directory,
                entries=limits.zip_max_entries,
            ),
            where={"file": filename},
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
        raise BrokenFile(
            msg("zip.unreadable", file=filename, reason=library_said(exc)),
            where={"file": filename},
        ) from None


def _unsafe(name: str, filename: str) -> Message | None:
    """Why an entry named `name` would land outside the folder it were extracted to, if it would.
    Backslashes count as separators: Windows tools write them, and GDAL reads them as '/'."""
    posix = name.replace("\\", "/")
    if posix.startswith("/"):
        return msg("zip.absolute", file=filename, entry=name)
    if _DRIVE.match(posix):
        return msg("zip.drive", file=filename, entry=name)
    if ".." in posix.split("/"):
        return msg("zip.climbs", file=filename, entry=name)
    return None


def _check_entry(info: zipfile.ZipInfo, filename: str) -> None:
    where = {"file": filename, "entry": info.filename}
    refusal = _unsafe(info.filename, filename)
    if refusal:
        raise InvalidInput(refusal, where=where)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InvalidInput(msg("zip.link", file=filename, entry=info.filename), where=where)
    if info.flag_bits & 0x1:
        raise BrokenFile(msg("zip.encrypted", file=filename, entry=info.filename), where=where)


def _check_size(
    info: zipfile.ZipInfo, expanded: int, limits: ImportSettings, filename: str
) -> None:
    """`expanded`: bytes of the entries up to this one, once expanded."""
    where = {"file": filename, "entry": info.filename}
    max_bytes = limits.zip_max_expanded_mb * 2**20
    if expanded > max_bytes:
        raise PayloadTooLarge(
            msg(
                "zip.expands", file=filename, max_mb=limits.zip_max_expanded_mb, entry=info.filename
            ),
            where=where,
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= RATIO_FLOOR and ratio > limits.zip_max_ratio:
        raise PayloadTooLarge(
            msg(
                "zip.bomb",
                file=filename,
                entry=info.filename,
                ratio=ratio,
                size_mb=info.file_size / 2**20,
                compressed=info.compress_size,
                max_ratio=limits.zip_max_ratio,
            ),
            where=where,
        )


def _gdal_name(entry: str) -> str:
    """An entry's name as GDAL gives it: '/'-separated, without a leading './'."""
    return entry.replace("\\", "/").removeprefix("./")


def member_names(path: Path, filename: str, limits: ImportSettings | None = None) -> list[str]:
    """The files in the zip at `path` (named `filename` by the user), '/'-separated as GDAL names
    them, once every entry passed the checks above; `limits` default to the settings'."""
    limits = limits or get_settings().imports
    infos = _open(path, filename, limits)
    if len(infos) > limits.zip_max_entries:
        entry = infos[limits.zip_max_entries].filename
        raise PayloadTooLarge(
            msg(
                "zip.entries",
                file=filename,
                count=len(infos),
                max=limits.zip_max_entries,
                entry=entry,
            ),
            where={"file": filename, "entry": entry},
        )
    names: list[str] = []
    seen: set[str] = set()
    expanded = 0
    for info in infos:
        _check_entry(info, filename)
        expanded += info.file_size
        _check_size(info, expanded, limits, filename)
        name = _gdal_name(info.filename)
        if name in seen:
            raise BrokenFile(
                msg("zip.twice", file=filename, entry=info.filename),
                where={"file": filename, "entry": info.filename},
            )
        seen.add(name)
        if not info.is_dir() and not name.endswith("/"):
            names.append(name)
    return names


def _is_shapefile(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        path.suffix.lower() == ".shp"
        and not path.name.startswith(_JUNK_PREFIX)
        and not _JUNK_FOLDERS & set(path.parts)
    )


def _matches(member: str, table: str) -> bool:
    """Whether `table` names `member`: by its path inside the zip or its base name, with or
    without the .shp suffix, in any case, with either kind of slash."""
    wanted = table.replace("\\", "/").strip("/").casefold()
    path = member.casefold()
    return wanted in (
        path,
        path[: -len(".shp")],
        PurePosixPath(path).name,
        PurePosixPath(path).stem,
    )


def _listed(members: list[str]) -> str:
    items = ", ".join(members[:MAX_LISTED])
    more = len(members) - MAX_LISTED
    return msg("list.more", items=items, more=more) if more > 0 else items


def choose_shapefile(members: list[str], table: str | None, filename: str) -> str:
    """The one .shp among `members` (at any depth), or the one `table` names (see `_matches`)."""
    shapefiles = [m for m in members if _is_shapefile(m)]
    where = {"file": filename, **({"table": table} if table is not None else {})}
    if not shapefiles:
        raise UnsupportedFormat(
            msg("zip.no_shapefile", file=filename, members=_listed(members) or msg("list.nothing")),
            where={"file": filename},
        )
    chosen = [m for m in shapefiles if table is None or _matches(m, table)]
    if table is not None and not chosen:
        raise InvalidInput(
            msg(
                "zip.no_such_shapefile", file=filename, table=table, shapefiles=_listed(shapefiles)
            ),
            where=where,
            extra={"tables": shapefiles[:MAX_LISTED]},
        )
    if len(chosen) > 1:
        several = {"file": filename, "count": len(chosen), "shapefiles": _listed(chosen)}
        raise InvalidInput(
            msg("zip.shapefiles_named", table=table, **several)
            if table
            else msg("zip.shapefiles", each=msg("import.each_table"), **several),
            where=where,
            extra={"tables": chosen[:MAX_LISTED]},
        )
    return chosen[0]


@dataclass(frozen=True)
class ZippedShapefile:
    """The members of a zip that GDAL reads as one Shapefile ('/'-separated paths)."""

    shp: str
    dbf: str
    cpg: str | None  # the code page sidecar, when there is one


def _sidecar(members: set[str], stem: str, suffix: str) -> str | None:
    """The member GDAL opens as `stem`'s `suffix` file: that suffix in lower or upper case."""
    return next((m for m in (stem + suffix, stem + suffix.upper()) if m in members), None)


def check_sidecars(members: list[str], shapefile: str, filename: str) -> ZippedShapefile:
    """The .shx, .dbf and .cpg beside `shapefile`, as GDAL looks for them: same base name, suffix
    in the case of the .shp's or in the other one (T.SHP with T.dbf is read; T.Shp is not)."""
    suffix = PurePosixPath(shapefile).suffix
    if suffix not in (".shp", ".SHP"):
        raise BrokenFile(
            msg("zip.suffix_case", file=filename, entry=shapefile),
            where={"file": filename, "entry": shapefile},
        )
    stem = shapefile[: -len(suffix)]
    present = set(members)
    dbf = ""
    for sidecar in (".shx", ".dbf"):
        member = _sidecar(present, stem, sidecar)
        if member is None:
            raise BrokenFile(
                msg(
                    "zip.no_sidecar",
                    file=filename,
                    entry=shapefile,
                    sidecar=sidecar,
                    expected=f"{PurePosixPath(stem).name}{sidecar}",
                ),
                where={"file": filename, "entry": shapefile},
            )
        dbf = member
    return ZippedShapefile(shapefile, dbf, _sidecar(present, stem, ".cpg"))


def shapefile_member(
    path: Path, filename: str, table: str | None = None, limits: ImportSettings | None = None
) -> ZippedShapefile:
    """The Shapefile to read in the zip at `path`, the archive checked first."""
    members = member_names(path, filename, limits)
    return check_sidecars(members, choose_shapefile(members, table, filename), filename)


def shapefiles(path: Path, filename: str, limits: ImportSettings | None = None) -> list[str]:
    """Every Shapefile in the zip at `path`, at any depth, in archive order (checked first)."""
    members = member_names(path, filename, limits)
    found = [m for m in members if _is_shapefile(m)]
    if not found:
        choose_shapefile(members, None, filename)  # says what the zip holds instead
    return found


@contextmanager
def open_member(path: Path, name: str, filename: str) -> Iterator[IO[bytes]]:
    """The member `name` (as `member_names` gives it) of the checked zip at `path`, to read;
    BrokenFile when its compressed data is corrupt."""
    where = {"file": filename, "entry": name}
    try:
        with zipfile.ZipFile(path) as archive:
            info = next(i for i in archive.infolist() if _gdal_name(i.filename) == name)
            with archive.open(info) as member:
                yield member
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise BrokenFile(
            msg("zip.unreadable", file=filename, reason=library_said(exc)), where=where
        ) from None
