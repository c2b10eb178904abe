"""Jobs: the progress and result of long imports and analyses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from geo_service import jobs
from geo_service.api.deps import Caller, DbEngine

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", summary="Progress and result of a long import or analysis")
def job_status(job_id: str, engine: DbEngine, who: Caller) -> dict[str, Any]:
    return jobs.status(engine, job_id, who)
