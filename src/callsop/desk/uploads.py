"""An upload handler that streams a recording straight into the recordings
folder, hashing it and checking the size limit chunk by chunk, so a big
file is never held in memory or in a second temporary copy."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from callsop.desk.services.errors import ActionError
from callsop.desk.services.recording_files import Sink, StoredFile, discard

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
