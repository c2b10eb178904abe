"""Receive a multipart upload straight to disk, refusing it as soon as it exceeds the limit.

The body is parsed while it streams in (python-multipart): the file part is written to a
folder, the other parts are kept as short text fields, and nothing is held whole in memory.
A Content-Length above the limit is refused before a byte is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header

from geo_service.errors import InvalidInput, PayloadTooLarge
from geo_service.problems import msg

MAX_FIELD_BYTES = 4096  # a form field (kind, table, crs...) is a short text
# ...but a mapping lists the values of a national cadastre's fields.
LONGER_FIELDS = {"mapping": 256 * 1024}


@dataclass
class Upload:
    path: Path  # where the file part was written
    filename: str  # the name the client gave it (its suffix names the format)
    fields: dict[str, str] = field(default_factory=dict)


class _Receiver:
    """python-multipart callbacks: one file part to disk, text fields to memory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.headers: dict[bytes, bytes] = {}
        self.header_name = b""
        self.header_value = b""
        self.field_name: str | None = None
        self.field_value = bytearray()
        self.file: IO[bytes] | None = None
        self.upload: Upload | None = None
        self.fields: dict[str, str] = {}

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_name.lower()] = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None and name == "file":
            if self.upload is not None:
                raise InvalidInput(msg("upload.one_file"), where={"field": "file"})
            # Only the base name is kept: a client's path must not choose where we write.
            safe = Path(filename.decode("utf-8", "replace").replace("\\", "/")).name or "upload"
            self.upload = Upload(self.folder / safe, safe)
            self.file = self.upload.path.open("wb")
            self.field_name = None
        else:
            self.field_name = name
            self.field_value = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.file is not None:
            self.file.write(data[start:end])
            return
        self.field_value += data[start:end]
        limit = LONGER_FIELDS.get(self.field_name or "", MAX_FIELD_BYTES)
        if len(self.field_value) > limit:
            raise InvalidInput(
                msg("upload.long_field", field=self.field_name, max=limit),
                where={"field": self.field_name},
            )

    def on_part_end(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        elif self.field_name:
            self.fields[self.field_name] = self.field_value.decode("utf-8", "replace")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


async def receive(
    content_type: str | None,
    content_length: str | None,
    stream: AsyncIterator[bytes],
    folder: Path,
    max_bytes: int,
) -> Upload:
    """Parse a multipart/form-data body from `stream` into `folder`: the part named `file`
    and the text fields. PayloadTooLarge once more than `max_bytes` arrive."""
    too_large = PayloadTooLarge(
        msg("upload.too_large", limit_mb=max_bytes / 2**20), where={"field": "file"}
    )
    if content_length and content_length.isdigit() and int(content_length) > max_bytes:
        raise too_large
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidInput(msg("upload.not_multipart"), where={"content-type": content_type})
    receiver = _Receiver(folder)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": receiver.on_part_begin,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
        },
    )
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > max_bytes:
                raise too_large
            parser.write(chunk)
        parser.finalize()
    finally:
        receiver.close()
    if receiver.upload is None:
        raise InvalidInput(msg("upload.no_file"))
    receiver.upload.fields = receiver.fields
    return receiver.upload
