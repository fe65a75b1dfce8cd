"""Operations: liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ward_geo.api.deps import ServiceState, get_state
from ward_geo.api.schemas import Health
from ward_geo.errors import StoreError, WardGeoError

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> dict[str, object]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: the incident store answers and its file is the one opened",
    responses={503: {"description": "The store is unreachable"}},
)
async def readyz(state: ServiceState = Depends(get_state)) -> object:
    try:
        def probe() -> str:
            store = state.stores.get()
            store.check_file()
            return str(store.data_version())

        version = await state.run(probe)
    except WardGeoError as exc:
        error = exc if isinstance(exc, StoreError) else StoreError(exc.message)
        return JSONResponse({"status": "unavailable", "detail": error.to_dict()}, status_code=503)
    except Exception as exc:  # the store driver failed in an unexpected way: still "not ready"
        return JSONResponse(
            {"status": "unavailable", "detail": StoreError(f"the store did not answer: {type(exc).__name__}").to_dict()},
            status_code=503,
        )
    return {"status": "ready", "detail": {"data_version": version, "warm": state.warm}}
