"""The Litestar application: pages, JSON API, health and metrics, and (optionally) an embedded job worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from pathlib import Path

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig
from litestar.template.config import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.engine import get_engine, session_factory
from app.services.snapshot import load_snapshot
from app.settings import Settings, get_settings
from app.web.health import healthz, readyz

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent / "web"
# /static answers with bodies compressed once and kept (app/web/assets.py), never again per response.
COMPRESSION = CompressionConfig(backend="brotli", brotli_gzip_fallback=True, exclude=["^/static/"])


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    async with state.sessions() as session:
        yield session


def register_template_helpers(engine: JinjaTemplateEngine) -> None:
    """Filters, and the globals the shared layout needs on every page (the footer's polling schedule)."""
    from app.web.localtime import register_filters
    from app.web.source_info import polling_schedule

    register_filters(engine)
    engine.engine.globals["polling_schedule"] = polling_schedule


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    run_worker: bool | None = None,
) -> Litestar:
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database.url)
    sessions = session_factory(engine)
    run_worker = settings.embedded_worker if run_worker is None else run_worker

    from app.cache.responses import response_cache_from_settings
    from app.services.offer_index import OfferReadModel
    from app.api.offer_json import prepare as prepare_offer_json
    from app.api.routes import API_ROUTER
    from app.auth.pages import AuthController, SecurityController
    from app.auth.session import build_stores, csrf_middleware, session_config
    from app.auth.csrf import SessionBoundCSRFMiddleware
    from app.auth.session_validity import SessionValidityMiddleware
    from app.console.routes import CONSOLE_HANDLERS
    from app.notifications.webhook import close_webhook_application, telegram_webhook
    from app.web.audit_origin import set_audit_origin
    from litestar.openapi.spec import Components, SecurityScheme

    from app.web.api_docs import ApiDocsPlugin
    from app.web.body_timeout import BodyTimeoutMiddleware
    from app.web.errors import exception_handlers
    from app.web.input_guard import input_guard
    from app.web.metrics_access import MetricsAccess, MetricsController
    from app.web.request_id import RequestIdMiddleware
    from app.web.routes import PAGE_HANDLERS
    from app.web.security_headers import SecurityHeadersMiddleware
    from app.web.assets import static_file, static_url
    from app.web.page_cache import release_fingerprint

    async def on_startup(app: Litestar) -> None:
        from app.notifications.deployments import install as notify_state_changes

        # State changes seen by the console (and an embedded worker) queue notifications.
        # A list: test clients run the lifespan once each, on one app.
        app.state.setdefault("state_change_subscriptions", []).append(notify_state_changes(settings))
        if settings.polling.load_snapshot:
            loaded = await load_snapshot(sessions)
            if loaded:
                log.info("loaded the bundled price snapshot for %d sources", len(loaded))
        if settings.sandbox.enabled and settings.sandbox.demo_account:
            from app.console.demo import ensure_demo_account
            from app.security.keyring import keyring_from_settings

            await ensure_demo_account(sessions, settings, keyring_from_settings(settings))
        if app.state.offer_read_model is not None:  # what /api/v1/prices reads, loaded before it is asked
            await app.state.offer_read_model.warm(lambda: response_cache.data_version(sessions))
        if run_worker:
            from app.jobs.runner import EmbeddedWorker

            app.state.worker = EmbeddedWorker(settings, sessions)
            app.state.worker.start()

    async def on_shutdown(app: Litestar) -> None:
        from app.console.signals import disconnect

        subscriptions = app.state.get("state_change_subscriptions") or []
        if subscriptions:
            disconnect(subscriptions.pop())
        worker = getattr(app.state, "worker", None)
        if worker is not None:
            await worker.stop()
        await close_webhook_application(app)
        if app.state.response_cache is not None:
            await app.state.response_cache.close()
        if app.state.offer_read_model is not None:
            app.state.offer_read_model.stop_preparing()

    # Everything that changes every cached body is part of its version: processes configured
    # differently, or running another release, never share entries (one Redis, a rolling deploy).
    response_cache = response_cache_from_settings(settings, scope="|".join((
        settings.web.base_url, str(settings.sandbox.on_price_pages),
        release_fingerprint(static_url("site.css"), static_url("site.js")))))
    csrf = csrf_middleware(settings)
    prometheus = PrometheusConfig(app_name="computehub", group_path=True, exclude=["/metrics", "/static"])
    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            MetricsController,
            static_file,
            *PAGE_HANDLERS,
            API_ROUTER,
            AuthController,
            SecurityController,
            *CONSOLE_HANDLERS,
            telegram_webhook,
        ],
        stores=build_stores(settings, engine),
        dependencies={"db": Provide(provide_db_session)},
        state=State({"settings": settings, "engine": engine, "sessions": sessions,
                     "response_cache": response_cache,
                     # Only with a cache: its data version says when the held offers are out of date.
                     "offer_read_model": None if response_cache is None else OfferReadModel(
                         sessions, prepare=prepare_offer_json),
                     "metrics_access": MetricsAccess.from_settings(settings)}),
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine,
                                       engine_callback=register_template_helpers),
        openapi_config=OpenAPIConfig(title="ComputeHub API", version="1", path="/schema",
                                     # The documentation is public: declared like every route (app/workspaces/access.py).
                                     openapi_router=Router("/schema", route_handlers=[], include_in_schema=False,
                                                           opt={"permission": "public"}),
                                     render_plugins=[ApiDocsPlugin()], components=Components(security_schemes={
                                         "apiToken": SecurityScheme(type="http", scheme="bearer", description=(
                                             "An API token from /settings/api-tokens (console API only)"))})),
        include_in_schema=False,  # only the JSON API (API_ROUTER) is documented; a new page stays out
        # CSRF sits outside the session middleware: it re-issues its token when a response logs in or out.
        middleware=[input_guard, prometheus.middleware, csrf, session_config(settings).middleware,
                    SessionValidityMiddleware],
        exception_handlers=exception_handlers(),
        before_request=set_audit_origin,
        compression_config=COMPRESSION,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        debug=settings.web.debug,
        logging_config=None,  # app/logging_setup.py configures logging once per process
    )
    # Outside Litestar's routing and exception handling, so every response passes through them,
    # 404s of unknown paths and 500 pages included.
    app.asgi_handler = BodyTimeoutMiddleware(app.asgi_handler, timeout=settings.web.body_timeout_seconds)
    if response_cache is not None:  # inside the request id and security headers: a replay gets them too
        from app.auth.session import SESSION_COOKIE
        from app.web.cache_hits import CacheHitLayer
        from app.web.price_fast_path import PriceFastPath

        # Inside the cache-hit layer: what it answers is kept and replayed like Litestar's answers.
        app.asgi_handler = PriceFastPath(app.asgi_handler, state=app.state, session_cookie=SESSION_COOKIE,
                                         prometheus=prometheus)
        app.asgi_handler = CacheHitLayer(app.asgi_handler, cache=response_cache, session_cookie=SESSION_COOKIE,
                                         csrf=SessionBoundCSRFMiddleware(app.asgi_handler, **csrf.kwargs))
    app.asgi_handler = SecurityHeadersMiddleware(app.asgi_handler, https=settings.web.is_https)
    app.asgi_handler = RequestIdMiddleware(app.asgi_handler)
    return app
