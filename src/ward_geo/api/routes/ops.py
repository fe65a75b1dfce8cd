"""Operations: liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from ward_geo.api import services
from ward_geo.api.deps import AdminDep, StateDep
from ward_geo.api.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> dict[str, object]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: the incident store answers and its file is the one opened",
    responses={503: {"description": "The store is unreachable"}},
)
async def readyz(state: StateDep) -> object:
    """Readiness: 200 with the data version when the store answers and its file is the one opened."""
    ready, detail = await services.readiness(state)
    if not ready:
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    return {"status": "ready", "detail": detail}


@router.get(
    "/metrics",
    summary="Counters of the cache and the compute queue (Prometheus text format; admin role)",
    response_class=PlainTextResponse,
)
async def metrics(principal: AdminDep, state: StateDep) -> PlainTextResponse:
    """The service's counters in the Prometheus text format."""
    return PlainTextResponse(services.metrics_text(state), headers={"Cache-Control": "no-store"})
