"""Upload handlers that check the size limit chunk by chunk, so a big file
is never held whole in memory or in a temporary copy: a recording streams
straight into the recordings folder; any other file (a transcript, a
policy) is held in memory up to the upload limit, and past it is dropped
as it arrives."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import InMemoryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from callsop.desk.services.errors import ActionError
from callsop.desk.services.recording_files import Sink, StoredFile, discard
from callsop.record.reader import MAX_RECORD_BYTES

RECORDING_FIELDS = ("recording", "customer_leg")


class StoredUpload(UploadedFile):
    """What the form's file field holds: the file already kept on disk."""

    def __init__(self, stored: StoredFile) -> None:
        super().__init__(io.BytesIO(), name=stored.name, size=stored.size)
        self.stored = stored


class RecordingUploadHandler(FileUploadHandler):
    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.sink: Sink | None = None
        self.kept: list[StoredFile] = []
        self.refusal: ActionError | None = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name not in RECORDING_FIELDS or self.refusal is not None:
            raise SkipFile()
        self.sink = Sink(file_name)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        assert self.sink is not None
        try:
            self.sink.write(raw_data)
        except ActionError as exc:
            self.sink = None
            self.refusal = exc
            self.discard()
            raise StopUpload(connection_reset=False) from None
        return None

    def file_complete(self, file_size: int) -> StoredUpload | None:
        if self.sink is None:
            return None
        stored = self.sink.done()
        self.sink = None
        self.kept.append(stored)
        return StoredUpload(stored)

    def upload_interrupted(self) -> None:
        if self.sink is not None:
            self.sink.discard()
            self.sink = None
        self.discard()

    def discard(self) -> None:
        discard(self.kept)
        self.kept = []


UPLOAD_MAX_BYTES = MAX_RECORD_BYTES  # a transcript is one call's record


class TooLargeUpload(UploadedFile):
    """A file past the upload limit: its size is known, its bytes were not
    kept, and reading it is refused with the form field named."""

    def __init__(self, field_name: str, name: str, size: int) -> None:
        super().__init__(io.BytesIO(), name=name, size=size)
        self.field_name = field_name

    def refusal(self) -> ActionError:
        most = UPLOAD_MAX_BYTES / 1_000_000
        return ActionError(f"{self.name}: 檔案太大（上限 {most:g} MB）。", field=self.field_name)

    def read(self, *args: Any) -> bytes:
        raise self.refusal()

    def chunks(self, chunk_size: int | None = None) -> Any:
        raise self.refusal()

    def __iter__(self) -> Any:
        raise self.refusal()


class CappedUploadHandler(FileUploadHandler):
    """Every upload but a recording's (whose view puts its own handler in
    place). Each file is held in memory until it passes UPLOAD_MAX_BYTES;
    then what was held is let go and the rest is read and dropped, so a
    200 MB upload costs the server no more than the limit."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.held: io.BytesIO | None = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.held = io.BytesIO()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.held is not None:
            if start + len(raw_data) > UPLOAD_MAX_BYTES:
                self.held = None  # too large: nothing more is kept
            else:
                self.held.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile:
        name = self.file_name or self.field_name or "upload"
        if self.held is None:
            return TooLargeUpload(self.field_name or "", name, file_size)
        self.held.seek(0)
        upload = InMemoryUploadedFile(
            file=self.held,
            field_name=self.field_name,
            name=name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
        self.held = None
        return upload
