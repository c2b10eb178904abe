"""Long work (large imports, heavy analyses) as jobs: run in a thread, progress kept in the
database so any worker can answer `GET /jobs/{id}`. A failed job keeps its error's messages as
codes and parameters (problems.pack), so that it is said in the language of whoever asks.

    >>> job_id = submit(engine, "import", lambda report: (report(0.5, "half"), {"n": 1})[1])
    >>> # later: status(engine, job_id) -> {"status": "done", "progress": 1.0, "result": {"n": 1}}
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from sqlalchemy import Engine, text

from geo_service.analysis.messages import Lang
from geo_service.domain.access import Principal
from geo_service.errors import GeoServiceError, NotFound
from geo_service.problems import current_language, in_language, msg, pack, unpack

log = logging.getLogger(__name__)

Report = Callable[[float, str | None], None]
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="geo-job")


def _set(engine: Engine, job_id: str, **values: Any) -> None:
    sets = ", ".join(f"{key} = :{key}" for key in values)  # keys are ours, never user input
    params = {
        k: orjson.dumps(v, default=str).decode()
        if k in ("result", "error") and v is not None
        else v
        for k, v in values.items()
    }
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE jobs SET {sets}, updated_at = now() WHERE id = :id"),
            {**params, "id": job_id},
        )


def submit(
    engine: Engine, kind: str, work: Callable[[Report], dict[str, Any]], owner: Principal
) -> str:
    """Queue `work(report)`; its return value becomes the job's result, readable by `owner`
    (and admins; a job of an anonymous caller by whoever holds its id)."""
    job_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO jobs (id, kind, owner) VALUES (:id, :kind, :owner)"),
            {"id": job_id, "kind": kind, "owner": owner.name},
        )

    def report(progress: float, message: str | None = None) -> None:
        _set(engine, job_id, progress=max(0.0, min(1.0, progress)), message=message)

    def run() -> None:
        _set(engine, job_id, status="running")
        try:
            result = work(report)
        except GeoServiceError as exc:
            error = {
                "title": exc.title,
                "detail": exc.detail,
                "where": exc.where,
                "errors": exc.errors,
            }
            _set(engine, job_id, status="failed", error=pack(error))
        except Exception:  # a job must always end with a state the user can read
            log.exception("job %s failed", job_id)
            error = {"title": msg("title.internal_error"), "detail": msg("job.failed")}
            _set(engine, job_id, status="failed", error=pack(error))
        else:
            _set(engine, job_id, status="done", progress=1.0, result=result)

    _POOL.submit(run)
    return job_id


def status(engine: Engine, job_id: str, who: Principal, lang: Lang | None = None) -> dict[str, Any]:
    """The job's state, if `who` may read it (else NotFound, as for a job that never was); a
    failure's messages in `lang`, by default the language of the request being answered."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT id, kind, status, progress, message, result, error, created_at,"
                    " updated_at, owner FROM jobs WHERE id = CAST(:id AS text)"
                ),
                {"id": job_id},
            )
            .mappings()
            .first()
        )
    if row is None or not (row["owner"] is None or row["owner"] == who.name or who.is_admin):
        raise NotFound(msg("job.unknown", job=job_id[:64]), where={"job": job_id[:64]})
    answer = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items() if k != "owner"
    }
    if answer["error"] is not None:
        answer["error"] = in_language(unpack(answer["error"]), lang or current_language())
    return answer
