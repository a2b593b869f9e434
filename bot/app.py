"""The web application factory: one `cleanup_ctx` per resource, nothing done at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from aiohttp import web

from bot.access_log import access_log_middleware
from bot.accounts.session import setup_sessions
from bot.api.alerts import ALERTS
from bot.api.alerts import routes as alert_routes
from bot.api.auth import API_TOKENS
from bot.api.commands import routes as command_routes
from bot.api.docs import setup_docs
from bot.api.envelope import error_middleware
from bot.api.health import routes as health_routes
from bot.api.metrics import setup_metrics
from bot.api.reports import routes as report_routes
from bot.api.routes import routes as api_routes
from bot.api.tasks import TASKS
from bot.api.tasks import routes as task_routes
from bot.api.understanding import routes as understanding_routes
from bot.callbacks.routes import routes as callback_routes
from bot.clock import Clock, SystemClock
from bot.console import setup_console
from bot.db import open_db
from bot.ingest.writer import IngestWriter, backend_for
from bot.keys import CLOCK, COMMANDS, DIRECTORY, ENQUEUER, LLM, OUTCOMES, REDIS, RULES, RUNTIME, SETTINGS, WRITER
from bot.queue import Enqueuer
from bot.reference import load_directory, sync_reference_data
from bot.runtime import build_runtime
from bot.settings import ConfigError, Settings
from bot.wecom.ack import ACKNOWLEDGER
from bot.wecom.callback import setup_wecom

log = structlog.get_logger(__name__)


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with open_db(settings.database.url):
        _, people = load_directory(settings)
        await sync_reference_data(settings, people)
        yield


async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
    """Every service, built as the worker builds them (bot/runtime.py); the web app's own is the
    enqueuer that hands ingest's committed conversations to the worker."""
    async with build_runtime(app[SETTINGS], app[CLOCK]) as rt:
        app[RUNTIME] = rt
        app[REDIS], app[COMMANDS], app[OUTCOMES] = rt.redis, rt.commands, rt.outcomes
        app[DIRECTORY], app[RULES], app[LLM] = rt.directory, rt.rules, rt.llm
        app[ALERTS], app[ACKNOWLEDGER], app[TASKS] = rt.alerts, rt.alerts, rt.tasks
        enqueuer = Enqueuer(rt.redis)
        app[ENQUEUER] = enqueuer
        enqueuer.start()
        yield
        await enqueuer.stop()


async def ingest_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    writer = IngestWriter(
        backend=backend_for(
            settings.database.url,
            timedelta(seconds=settings.ingest.dedup_window_s),
            timedelta(seconds=settings.ingest.message_id_horizon_s),
        ),
        max_batch=settings.ingest.max_batch,
        on_committed=app[ENQUEUER].add,
        retry_budget_s=settings.ingest.commit_retry_s,
    )
    await writer.start()
    app[WRITER] = writer
    yield
    await writer.stop()  # drains: every accepted callback is committed before shutdown


async def freeze_startup_objects(_app: web.Application) -> None:
    """Exclude everything built at start-up (modules, models, rules) from garbage collection.

    A full collection walks every tracked object; with the libraries loaded that took 30-50 ms and, on
    the ingest path, showed up as ack-latency spikes (scripts/bench_ingest.py). What is frozen here lives
    as long as the process anyway.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    if settings.worktool.callback_token is None:
        raise ConfigError("worktool.callback_token is not set: export HUB__WORKTOOL__CALLBACK_TOKEN")
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[access_log_middleware, error_middleware],
    )
    app[SETTINGS] = settings
    app[API_TOKENS] = settings.api.tokens
    app[CLOCK] = clock or SystemClock()
    setup_sessions(app, settings)  # console login cookies, checked by the API's `requires` too
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(runtime_ctx)
    app.cleanup_ctx.append(ingest_ctx)
    app.on_startup.append(freeze_startup_objects)
    app.add_routes(callback_routes)
    app.add_routes(api_routes)
    app.add_routes(health_routes)
    app.add_routes(command_routes)
    app.add_routes(understanding_routes)
    app.add_routes(alert_routes)
    app.add_routes(task_routes)
    app.add_routes(report_routes)
    setup_metrics(app)  # GET /metrics, protected unless metrics.protected is false
    setup_docs(app, settings)  # /openapi.json (parsed once, servers from server.public_url), /api/docs
    setup_wecom(app)  # after runtime_ctx (the alerts service): running acknowledgements drain first
    setup_console(app)  # the web console's pages and live events (bot/console/), after the sessions
    return app
