"""Generation preconditions for gcp-storage-emulator, which ignores them: `ifGenerationMatch`
on object uploads, reads, patches and deletes, as Cloud Storage implements it.

- An upload with `ifGenerationMatch=G` succeeds only if the object's live generation is G;
  `G = 0` means the object must not exist. Otherwise: 412 `conditionNotMet`, nothing written.
- A read, patch or delete of an existing object with `ifGenerationMatch=G` answers 412 unless
  its generation is G (a missing object stays a 404).

The emulator serves one request at a time (`http.server.HTTPServer`), so the check and the
write that follows it are atomic, as they are in Cloud Storage. `install()` wraps the
handlers before the emulator's server module builds its routing table from them; the test
fixture (tests/helpers/gcs.py) calls it in the emulator's process. Only this file knows the
emulator's internals; tests/test_lease.py checks the 412s over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

Handler = Callable[..., Any]

CONDITION_NOT_MET = {
    "error": {
        "code": 412,
        "message": "At least one of the pre-conditions you specified did not hold.",
        "errors": [
            {
                "domain": "global",
                "reason": "conditionNotMet",
                "message": "At least one of the pre-conditions you specified did not hold.",
                "locationType": "header",
                "location": "If-Match",
            }
        ],
    }
}


def _wanted(request: Any) -> int | None:
    values = request.query.get("ifGenerationMatch")
    return int(values[0]) if values else None


def _live_generation(storage: Any, bucket: str, name: str | None) -> int:
    from gcp_storage_emulator.exceptions import NotFound

    if name is None:
        return 0
    try:
        return int(storage.get_file_obj(bucket, name)["generation"])
    except NotFound:
        return 0


def _upload_name(request: Any) -> str | None:
    if "name" in request.query:
        return str(request.query["name"][0])
    data = request.data
    if isinstance(data, dict):
        meta = data.get("meta", data)
        return meta.get("name") if isinstance(meta, dict) else None
    return None


def _refuse(response: Any) -> None:
    response.status = HTTPStatus.PRECONDITION_FAILED
    response.json(CONDITION_NOT_MET)


def _guard_upload(handler: Handler) -> Handler:
    def guarded(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
        wanted = _wanted(request)
        if wanted is not None and "upload_id" not in request.query:
            bucket = request.params["bucket_name"]
            if _live_generation(storage, bucket, _upload_name(request)) != wanted:
                return _refuse(response)
        return handler(request, response, storage, *args, **kwargs)

    return guarded


def _guard_existing(handler: Handler) -> Handler:
    def guarded(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
        wanted = _wanted(request)
        if wanted is not None:
            live = _live_generation(
                storage, request.params["bucket_name"], request.params.get("object_id")
            )
            if live and live != wanted:
                return _refuse(response)
        return handler(request, response, storage, *args, **kwargs)

    return guarded


def install() -> None:
    """Wrap the emulator's object handlers. Call before `gcp_storage_emulator.server` loads."""
    import sys

    from gcp_storage_emulator.handlers import objects

    assert "gcp_storage_emulator.server" not in sys.modules, "install() before the server loads"
    objects.insert = _guard_upload(objects.insert)
    for name in ("get", "download", "delete", "patch"):
        setattr(objects, name, _guard_existing(getattr(objects, name)))
