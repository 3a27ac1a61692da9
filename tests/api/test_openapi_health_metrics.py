"""The OpenAPI document, /healthz and /metrics."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from app.server import create_app
from app.services.prices import SORTS
from app.settings import Settings, WebSettings

METRICS_TOKEN = "metrics-token-for-tests"

API_PATHS = {
    "/api/v1/prices", "/api/v1/gpus", "/api/v1/gpus/{slug}", "/api/v1/gpus/{slug}/history",
    "/api/v1/history", "/api/v1/sources", "/api/v1/unknown-gpus",
    # The console API (tokens): documented with its bearer scheme.
    "/api/v1/console/deployments", "/api/v1/console/deployments/{instance_id}",
    "/api/v1/console/deployments/{instance_id}/{operation}", "/api/v1/console/keys",
    "/api/v1/console/keys/{key_id}/verify", "/api/v1/console/templates", "/api/v1/console/templates/{template_id}",
    "/api/v1/console/templates/{template_id}/launch", "/api/v1/console/batch", "/api/v1/console/costs",
    "/api/v1/console/alerts", "/api/v1/console/alerts/{alert_id}", "/api/v1/console/budgets",
    "/api/v1/console/budgets/{budget_id}",
    "/api/v1/console/organization/members", "/api/v1/console/organization/members/{user_id}",
    "/api/v1/console/organization/invitations", "/api/v1/console/organization/invitations/{invitation_id}",
    "/api/v1/console/organization/leave", "/api/v1/console/organization/transfer",
    "/api/v1/console/organization/two-factor", "/api/v1/console/keys/{key_id}",
    "/api/v1/console/templates/from-deployment/{instance_id}", "/api/v1/console/quotas",
    "/api/v1/console/projects", "/api/v1/console/projects/{project_id}",
    # Migrations between providers (Pro): the same tokens.
    "/api/v1/migrations", "/api/v1/migrations/{migration_id}", "/api/v1/migrations/{migration_id}/rollback",
    # Node pools (Enterprise).
    "/api/v1/pools", "/api/v1/pools/{pool_id}", "/api/v1/pools/{pool_id}/scale",
}


async def test_openapi_lists_every_api_path_with_ids_summaries_and_tags(client, sessions):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    api = {path: ops for path, ops in schema["paths"].items() if path.startswith("/api/")}
    assert set(api) == API_PATHS
    operations = [op for ops in api.values() for op in ops.values()]
    for op in operations:
        assert op.get("operationId") and op.get("summary") and op.get("tags"), op
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert {op["operationId"] for op in operations} == {
        "listPrices", "listGpus", "getGpu", "getGpuPriceHistory", "listPriceChanges", "listSources", "listUnknownGpus",
        "listDeployments", "getDeployment", "launchDeployment", "actOnDeployment", "listKeys", "verifyKey",
        "listTemplates", "getTemplate", "createTemplate", "updateTemplate", "deleteTemplate", "launchTemplate",
        "batchAction", "getCosts", "listAlerts", "createAlert", "deleteAlert", "listBudgets", "setBudget", "deleteBudget",
        "listMembers", "listInvitations", "inviteMember", "revokeInvitation", "removeMember", "leaveOrganization",
        "transferOwnership", "setTwoFactorPolicy", "addKey", "removeKey", "saveTemplateFromDeployment", "getQuotas",
        "setQuotas", "updateDeployment", "listProjects", "createProject", "updateProject", "deleteProject", "createMigration",
        "getMigration", "rollBackMigration", "listPools", "createPool", "getPool", "scalePool", "deletePool",
    }


async def test_openapi_documents_only_the_json_api(client, sessions):
    """Pages, forms, webhooks and /metrics are not part of the public API: a route that is not under
    /api/ stays out of the document without having to say so."""
    paths = set((await client.get("/schema/openapi.json")).json()["paths"])
    assert paths == API_PATHS
    routes = {route.path for route in client.app.routes}
    assert {"/console", "/settings/account", "/login", "/metrics", "/webhooks/telegram", "/costs/export.csv"} <= routes


async def test_openapi_documents_parameter_ranges(client, sessions):
    schema = (await client.get("/schema/openapi.json")).json()
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/prices"]["get"]["parameters"]}
    assert (params["per_page"]["minimum"], params["per_page"]["maximum"]) == (1, 500)
    assert params["page"]["minimum"] == 1
    assert params["min_memory"]["minimum"] == 0
    assert (params["max_price"]["minimum"], params["max_price"]["maximum"]) == (0, 10000)
    assert params["sort"]["enum"] == list(SORTS)
    history = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/gpus/{slug}/history"]["get"]["parameters"]}
    assert (history["days"]["minimum"], history["days"]["maximum"]) == (1, 365)
    assert history["market"]["enum"] == ["on-demand", "spot"]
    links = schema["components"]["schemas"]["Links"]["properties"]
    assert set(links) == {"self", "next", "prev"}


async def test_openapi_page_is_served(client, sessions):
    response = await client.get("/schema")
    assert response.status_code == 200
    # Rendered here from the document: every API operation with its parameters, nothing from a CDN.
    assert "GET /api/v1/prices" in response.text and "<code>region</code>" in response.text
    assert all('src="/' in tag for tag in response.text.split("<script")[1:])


async def test_healthz(client, sessions):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
async def scraper(engine, sessions):
    """A client with the metrics token, as Prometheus would scrape (/metrics is closed without one)."""
    app = create_app(Settings(web=WebSettings(metrics_token=METRICS_TOKEN)), engine=engine, run_worker=False)
    async with AsyncTestClient(app=app) as client:
        client.headers["Authorization"] = f"Bearer {METRICS_TOKEN}"
        yield client


async def requests_counted(client, path: str) -> float:
    response = await client.get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = sample.labels
            if (sample.name.endswith("_requests_total") and labels.get("app_name") == "computehub"
                    and labels.get("path") == path and labels.get("status_code") == "200"):
                return sample.value
    return 0.0


async def test_metrics_count_api_requests(scraper, sessions):
    before = await requests_counted(scraper, "/api/v1/prices")
    for _ in range(2):
        assert (await scraper.get("/api/v1/prices?per_page=5")).status_code == 200
    assert await requests_counted(scraper, "/api/v1/prices") == before + 2


async def test_readyz_reports_each_check(client, sessions):
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    # This app runs no worker and uses no Redis: reported as such, not as failures.
    assert body["checks"]["redis"] == "not used"
    assert body["checks"]["queue"] in ("ok", "not used")


async def test_readyz_is_503_when_redis_is_configured_but_unreachable(engine, sessions):
    from app.settings import SecuritySettings

    dead_redis = SecuritySettings(session_store="redis", redis_url="redis://127.0.0.1:1/0")
    app = create_app(Settings(security=dead_redis), engine=engine, run_worker=False)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"].startswith("failed: ")


async def test_readyz_is_503_when_the_database_is_gone(sessions, tmp_path):
    from app.db.engine import make_engine

    missing = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'db.sqlite3'}")
    app = create_app(Settings(), engine=missing, run_worker=False)
    try:
        async with AsyncTestClient(app=app) as client:
            response = await client.get("/readyz")
    finally:
        await missing.dispose()
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("failed: ")


async def test_metrics_show_the_queue_depth_per_task(scraper, sessions, engine, database_url):
    from app.console.jobs import binding_unit, sync_one_binding
    from app.jobs.engine import defer_unique
    from app.jobs.registry import job_app
    from tests.support.jobs import queue_for

    def depth(text: str) -> dict:
        return {(s.labels["task"], s.labels["status"]): s.value for f in text_string_to_metric_families(text)
                for s in f.samples if s.name == "computehub_queue_jobs"}

    with queue_for(database_url):
        async with job_app.open_async():
            for binding_id in (1, 2, 3):
                await defer_unique(sync_one_binding, binding_unit(binding_id), binding_id=binding_id)
            response = await scraper.get("/metrics")
    assert response.status_code == 200
    assert depth(response.text)[("console:sync_binding", "todo")] == 3
