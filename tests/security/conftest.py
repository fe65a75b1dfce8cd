"""Fixtures of the hostile-input suite: the service fixtures of ``tests/api`` (a small
store, API keys per role, in-process clients and a real ``ward-geo serve`` process)."""

from api.conftest import (  # noqa: F401  (pytest finds fixtures by name)
    api_incidents,
    api_wards,
    client,
    empty_service,
    populated_template,
    real_server,
    service,
    shared_client,
)
