"""Property-based API tests: schemathesis explores every operation and finds no 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from .conftest import make_client

EXAMPLES_PER_OPERATION = 15


@pytest.fixture(scope="module")
def st_client(tmp_path_factory, populated_template):
    import shutil

    data_dir = tmp_path_factory.mktemp("schemathesis") / "data"
    shutil.copytree(populated_template.data_dir, data_dir)
    with make_client(data_dir) as c:
        yield c


@pytest.mark.slow
def test_no_server_errors_on_any_operation(st_client, populated_template):
    """Every operation, called as admin with generated input, answers without a 5xx."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", st_client.app)
    headers = {"X-API-Key": populated_template.keys["admin"]}
    failures: list[str] = []
    labels: list[str] = []
    calls = {"n": 0}
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
            derandomize=True,
            database=None,
        )
        def explore(case):
            response = case.call(headers=headers)
            calls["n"] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")
                return
            if response.status_code >= 400:
                body = response.json()
                if not {"code", "message"} <= set(body) or "Traceback" in response.text:
                    failures.append(f"{case.method} {case.formatted_path}: error body {response.text[:200]}")

        explore()
    assert len(labels) == 13, labels  # GET /metrics added
    assert calls["n"] >= len(labels) * 5
    assert not failures, "\n".join(failures[:20])
