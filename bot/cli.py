"""`hub`: the one command-line entry point (run, serve, worker, migrate, makemigrations, users, …)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, urlencode

import structlog

from bot.db import MigrationError
from bot.embedded_redis import EmbeddedRedisError
from bot.rules.loading import RuleFileError
from bot.settings import ConfigError, Settings, load_settings
from bot.throwaway_postgres import PostgresUnavailable

if TYPE_CHECKING:
    from bot.worktool.client import WorkToolClient
    from models.accounts import Account

log = structlog.get_logger("hub")
RESTART_BACKOFF_S: Final = (1, 2, 5, 10, 30)
SUPERVISED_ENV: Final = "HUB_SUPERVISED"  # set by `hub run` in its children's environment
EXIT_CONFIG: Final = 2  # invalid configuration or rule files
EXIT_PORT: Final = 3  # the port to serve on is taken
DO_NOT_RESTART: Final = frozenset({EXIT_CONFIG, EXIT_PORT})  # `hub run` gives up on a child exiting so


def _settings(args: argparse.Namespace) -> Settings:
    from bot.dev_secrets import with_dev_secrets
    from bot.logging import configure_logging

    settings = load_settings(Path(args.config))
    configure_logging(settings.logging, default_timezone=settings.timezone)
    # Under `hub run` the supervisor has said it once already; its children keep quiet about it.
    return with_dev_secrets(settings, announce=os.environ.get(SUPERVISED_ENV) != "1")


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - optional speed-up
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations, or with `--to N` undo those above version N (newest first)."""
    from bot.db import migrate, rollback

    settings = _settings(args)
    url = settings.database.url
    if args.to is not None:
        undone = asyncio.run(rollback(url, args.to))
        log.info("database rolled back", to_version=args.to, undone=len(undone), url=_safe_url(url))
        return 0
    applied = asyncio.run(migrate(url))
    log.info("database up to date", applied=len(applied), url=_safe_url(url))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the database while the hub runs (bot/backup.py)."""
    from bot.backup import BackupError, backup

    settings = _settings(args)
    shown = -1

    def progress(copied: int, total: int) -> None:
        nonlocal shown
        percent = copied * 100 // max(total, 1)
        if percent >= shown + 10 or copied == total:
            shown = percent
            print(f"backup: {copied:,}/{total:,} pages ({percent}%)", file=sys.stderr)  # noqa: T201

    try:
        done = backup(settings.database.url, Path(args.file), progress)
    except BackupError as exc:
        print(f"hub backup: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    print(done)  # noqa: T201
    return 0


def cmd_makemigrations(args: argparse.Namespace) -> int:
    """A migration for each dialect from the models: SQLite offline, PostgreSQL at --postgres-url or, by
    default, in a throwaway cluster started for the purpose."""
    import tempfile

    from bot.db import MIGRATIONS_DIR, make_migration
    from bot.throwaway_postgres import start_postgres

    root = Path(args.dir) if args.dir else MIGRATIONS_DIR
    failed = 0

    def make(url: str, dialect: str) -> None:
        nonlocal failed
        try:
            made = asyncio.run(make_migration(url, args.name, root / dialect))
        except MigrationError as exc:
            failed += 1
            print(f"{exc}", file=sys.stderr)  # noqa: T201 - CLI output
        else:
            print(f"{dialect}: {made or 'no changes'}")  # noqa: T201 - CLI output

    with tempfile.TemporaryDirectory(prefix="hub-makemigrations-") as scratch:
        make(f"sqlite://{scratch}/models.sqlite3", "sqlite")  # offline: the file is never written
    if args.postgres_url:
        make(args.postgres_url, "postgres")
    else:
        cluster = start_postgres()  # PostgresUnavailable → main says what is missing
        try:
            make(cluster.url(), "postgres")
        finally:
            cluster.stop()
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app
    from bot.shutdown import arm_exit_watchdog

    settings = _settings(args)
    # Bound before anything starts: a port in use is one clear line and exit code 3, not a traceback.
    sock = bind_port(settings.server.host, settings.server.port, "server.port", "HUB__SERVER__PORT")
    _use_uvloop()
    app = create_app(settings)

    async def arm_watchdog(_app: web.Application) -> None:
        arm_exit_watchdog(20.0, "the server")  # the process ends right after: no need to disarm

    app.on_shutdown.append(arm_watchdog)
    for robot in settings.worktool.robots:
        base = settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"
        log.info("callback URL", robot_id=robot.id, url=f"{base}/worktool/{robot.id}/message?token=<callback token>")
    web.run_app(
        app,
        sock=sock,
        access_log=None,
        print=lambda _banner: log.info("serving", host=settings.server.host, port=settings.server.port),
        handler_cancellation=True,
        shutdown_timeout=5,
    )
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    """The WorkTool simulator: a fake WorkTool cloud that posts callbacks to this hub."""
    from aiohttp import web

    from bot.simulator import Scenario, SimState, create_sim_app, load_scenario

    settings = _settings(args)
    defaults = settings.worktool.simulator
    args.port = args.port or defaults.port
    args.scenario = defaults.scenario if args.scenario is None else args.scenario
    args.time_scale = args.time_scale or defaults.time_scale
    scenario = load_scenario(Path(args.scenario)) if args.scenario else Scenario()
    token = settings.worktool.callback_token
    hub_url = args.hub_url or settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"
    state = SimState(
        scenario,
        hub_url=hub_url,
        token=token.get_secret_value() if token is not None else None,
        time_scale=args.time_scale,
        limit_per_window=args.rate_limit,
        window_s=args.rate_window,
        tz=settings.timezone,
    )
    known = {robot.id for robot in settings.worktool.robots}
    for robot in scenario.robots:
        if robot.id not in known:
            log.warning(
                "scenario robot is not in worktool.robots: the hub will refuse its callbacks", robot_id=robot.id
            )
    base = f"http://{args.host}:{args.port}"
    log.info("WorkTool API", api_base=base, send=f"{base}/wework/sendRawMessage?robotId=<id>")
    log.info(
        "simulator control",
        requests=f"{base}/_sim/requests",
        commands=f"{base}/_sim/commands",
        play=f"POST {base}/_sim/play",
        stats=f"{base}/_sim/stats",
    )
    for robot in scenario.robots:
        url = f"{state.hub_url}/worktool/{robot.id}/message|result|status"
        log.info(
            "callbacks go to (until a URL is bound)", robot_id=robot.id, name=robot.name, url=url, token=bool(token)
        )
    log.info(
        "simulating",
        scenario=args.scenario or None,
        time_scale=args.time_scale,
        play=args.play,
        rate_limit=f"{args.rate_limit}/{args.rate_window:g}s",
    )
    sock = bind_port(args.host, args.port, "worktool.simulator.port (or --port)", "HUB__WORKTOOL__SIMULATOR__PORT")
    web.run_app(
        create_sim_app(state, play_on_start=args.play),
        sock=sock,
        access_log=None,
        print=None,
        handler_cancellation=True,
        shutdown_timeout=5,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from jobs.worker import run_worker

    settings = _settings(args)
    _use_uvloop()
    asyncio.run(run_worker(settings, burst=args.burst))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Embedded defaults: a local Redis if none answers, migrations, then server + worker processes, and the
    WorkTool simulator as the cloud when no real WorkTool API is configured."""
    from bot.db import migrate
    from bot.embedded_redis import ensure_redis
    from bot.metrics import MULTIPROC_ENV, reset_multiproc_dir

    settings = _settings(args)
    redis = ensure_redis(settings.redis.url, Path(settings.redis.data_dir)) if settings.redis.embedded else None
    base = [sys.executable, "-m", "bot.cli", "--config", args.config]
    commands = {name: [*base, name] for name in ("serve", "worker")}
    env = {**os.environ, SUPERVISED_ENV: "1"}
    # Server and worker count into one directory of metric files, summed by /metrics (bot/metrics.py).
    metrics_dir = Path(
        os.environ.get(MULTIPROC_ENV) or settings.metrics.multiproc_dir or Path(settings.data_dir) / "metrics"
    )
    env[MULTIPROC_ENV] = str(reset_multiproc_dir(metrics_dir))
    local = f"http://{settings.server.host}:{settings.server.port}"
    log.info(
        "probes: /healthz for liveness (restart the server when it fails), /readyz for readiness (alert, or hold "
        "a deploy, when it fails: database, Redis, a worker heartbeat, backlog age; callbacks are still stored "
        "without a worker, so keep the server in rotation), /metrics for Prometheus",
        liveness=f"{local}/healthz",
        readiness=f"{local}/readyz",
        metrics=f"{local}/metrics" if settings.metrics.enabled else None,
        metrics_dir=env[MULTIPROC_ENV],
    )
    if not settings.worktool.api_base:
        sim = settings.worktool.simulator
        commands["sim"] = [*base, "sim", *(["--play"] if sim.play else [])]
        env["HUB__WORKTOOL__API_BASE"] = f"http://127.0.0.1:{sim.port}"
        log.info(
            "no WorkTool API configured (worktool.api_base): the simulator plays the cloud",
            api_base=env["HUB__WORKTOOL__API_BASE"],
            scenario=sim.scenario,
        )
    try:
        asyncio.run(migrate(settings.database.url))
        console = f"{(settings.server.public_url or local).rstrip('/')}/"
        log.info("web console", url=console, accounts=asyncio.run(console_hint(settings.database.url)))
        return _supervise(commands, env)
    finally:
        if redis is not None:
            redis.stop()
            log.info("embedded redis stopped")


async def console_hint(url: str) -> str:
    """What `hub run` says about logging in to the console: how to make the first admin when there is none."""
    from bot.db import open_db
    from models.accounts import Account

    async with open_db(url):
        count = await Account.filter(disabled=False).count()
    if count == 0:
        return "none yet: create the first admin with `hub users add NAME --role admin` (prints a one-time password)"
    return f"{count} active; `hub users list` shows them, `hub users add NAME --role ROLE` adds one"


def _supervise(commands: dict[str, list[str]], env: dict[str, str]) -> int:
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    restarts = dict.fromkeys(commands, 0)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    log.info("hub running", processes=sorted(children), pids={n: c.pid for n, c in children.items()})
    while not stopping:
        time.sleep(0.5)
        for name, child in list(children.items()):
            code = child.poll()
            if code is None or stopping:
                continue
            if code in DO_NOT_RESTART:
                log.error(
                    "process cannot start and a restart would not help (see its line above); stopping the hub",
                    process=name,
                    exit_code=code,
                )
                stop(signal.SIGTERM, None)
                _wait_all(children)
                return code
            delay = RESTART_BACKOFF_S[min(restarts[name], len(RESTART_BACKOFF_S) - 1)]
            log.error("process exited; restarting", process=name, exit_code=code, in_s=delay)
            time.sleep(delay)
            restarts[name] += 1
            children[name] = subprocess.Popen(commands[name], env=env)
    _wait_all(children)
    return 0


def _wait_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


class PortUnavailable(Exception):
    """The port to serve on is taken (or not ours to bind); the message names the setting to change."""


def bind_port(host: str, port: int, setting: str, env_name: str) -> socket.socket:
    """A listening socket on host:port, or PortUnavailable saying which setting to change."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = {errno.EADDRINUSE: "is in use", errno.EACCES: "is not ours to bind"}.get(exc.errno or 0, str(exc))
        raise PortUnavailable(
            f"port {port} on {host} {why}: set {setting} (env {env_name}) to a free port, or stop what holds it"
        ) from None
    return sock


def cmd_rules(args: argparse.Namespace) -> int:
    """`hub rules check [DIR]` validates and self-tests; `hub rules replay --since` shows what would change."""
    from bot.understanding.ruleset import diff_summary, load_ruleset

    if args.action == "check":
        directory = Path(args.dir or load_settings(Path(args.config)).rules_dir)
        ruleset = load_ruleset(directory)  # RuleFileError → main prints it and exits 2
        examples = sum(len(t.examples) for t in ruleset.message_types.types)
        examples += len(ruleset.intervention.examples) + len(ruleset.replies.examples)
        print(f"{directory}: OK, version {ruleset.version}: {diff_summary(None, ruleset)}, {examples} examples pass")  # noqa: T201
        return 0
    settings = _settings(args)
    return asyncio.run(_replay(settings, args))


async def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from bot.db import open_db
    from bot.reference import load_directory
    from bot.understanding.replay import replay
    from bot.understanding.ruleset import load_ruleset

    ruleset = load_ruleset(Path(args.dir or settings.rules_dir))
    since = datetime.now(UTC) - timedelta(days=1)
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise ConfigError(
                f"--since {args.since!r}: use a date or time like 2026-11-20 or 2026-11-20T09:00"
            ) from None
        if since.tzinfo is None:
            from zoneinfo import ZoneInfo

            since = since.replace(tzinfo=ZoneInfo(settings.timezone))
    directory, _ = load_directory(settings)
    async with open_db(settings.database.url):
        report = await replay(
            ruleset,
            directory,
            since,
            max_samples=args.samples,
            progress=lambda n: print(f"  … {n} messages", file=sys.stderr),  # noqa: T201
        )
    out = [f"rules {ruleset.version} over {report.messages} messages since {since.isoformat()}:"]
    out.append(f"  type would change on {report.changed_types}, intervention case on {report.changed_cases}")
    for (old, new), n in report.type_changes.most_common(15):
        out.append(f"  type {old} → {new}: {n}")
    for (old, new), n in report.case_changes.most_common(10):
        out.append(f"  case {old} → {new}: {n}")
    out += [f"  {sample}" for sample in report.samples]
    print("\n".join(out))  # noqa: T201
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    """`hub users add|reset|disable|enable|list`: the web console's accounts (bot/accounts/)."""
    settings = _settings(args)
    return asyncio.run(_users(settings, args))


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    from tortoise.exceptions import DBConnectionError, OperationalError

    from bot.accounts import service
    from bot.db import open_db
    from bot.rules.people import load_people

    console = settings.console
    if args.action != "list" and not args.name:
        print(f"hub users: {args.action}: give the account's NAME", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    if args.action == "add" and args.role is None:
        print("hub users: add: give --role staff, manager or admin", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    try:
        async with open_db(settings.database.url):
            if args.action == "list":
                _print_accounts(await service.list_accounts())
                return 0
            if args.action == "add":
                people = [p.name for p in load_people(Path(settings.rules_dir) / "people.yaml").people]
                account, password = await service.add(args.name, args.role, args.person, people=people, console=console)
                person = f", person {account.person}" if account.person else ""
                print(f"account {account.name!r} added ({account.role}{person})")  # noqa: T201
                _print_one_time(settings, account.name, password)
            elif args.action == "reset":
                password = await service.reset(args.name, console=console)
                print(f"account {args.name.strip()!r}: password reset, its sessions ended")  # noqa: T201
                _print_one_time(settings, args.name.strip(), password)
            elif args.action == "disable":
                account = await service.disable(args.name)
                print(f"account {account.name!r} disabled: it cannot log in, its sessions ended")  # noqa: T201
            else:
                account = await service.enable(args.name)
                print(f"account {account.name!r} enabled")  # noqa: T201
    except service.AccountError as exc:
        print(f"hub users: {exc.message}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG if exc.kind == "invalid" else 1
    except (OperationalError, DBConnectionError) as exc:
        print(f"hub users: {exc} (is the database migrated? run `hub migrate`)", file=sys.stderr)  # noqa: T201
        return 1
    return 0


def _print_one_time(settings: Settings, name: str, password: str) -> None:
    base = settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"
    print(f"one-time password: {password}")  # noqa: T201
    print(  # noqa: T201
        f"It is shown only now. {name} logs in at {base.rstrip('/')}/login and must then choose a new password"
        f" (at least {settings.console.min_password_chars} characters)."
    )


def _print_accounts(accounts: list[Account]) -> None:
    if not accounts:
        print("no accounts yet: hub users add NAME --role admin")  # noqa: T201
        return
    rows = [("name", "role", "person", "state", "last login")]
    for account in accounts:
        state = "disabled" if account.disabled else "must change password" if account.must_change_password else "active"
        last = account.last_login_at.isoformat(timespec="seconds") if account.last_login_at else "-"
        rows.append((account.name, account.role, account.person or "-", state, last))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())  # noqa: T201


def cmd_worktool(args: argparse.Namespace) -> int:
    """`hub worktool bind|check`: set up and inspect the robots' callbacks on the WorkTool cloud."""
    settings = _settings(args)
    return asyncio.run(run_worktool(settings, args))


async def run_worktool(settings: Settings, args: argparse.Namespace) -> int:
    """bind: the message callback with robotInfo/update (openCallback 1, replyAll 1), then callBack/bind for
    results (1), online (5, `?kind=online`) and offline (6, `?kind=offline`). check: each robot's online state,
    openCallback/replyAll and bound URLs; exit code 1 when a request failed or messages would not all arrive."""
    import aiohttp

    from bot.queue import arq_redis
    from bot.worktool.client import WorkToolError, build_worktool_client

    robots = [r for r in settings.worktool.robots if args.robot in (None, r.id)]
    if not robots:
        raise ConfigError(f"no robot {args.robot!r} under worktool.robots" if args.robot else "no robots configured")
    public = (args.public_url or settings.server.public_url or "").rstrip("/")
    if args.action == "bind" and not public:
        raise ConfigError("server.public_url is not set (or pass --public-url): WorkTool must reach us there")
    token = settings.worktool.callback_token
    secret = token.get_secret_value() if token else ""
    redis = arq_redis(settings.redis.url)
    failures = 0
    async with aiohttp.ClientSession() as session:
        client = build_worktool_client(settings, redis, session)
        if client is None:
            raise ConfigError("worktool.api_base is not set: there is no WorkTool API to talk to")
        for robot in robots:
            try:
                if args.action == "bind":
                    await _bind_robot(client, robot.id, f"{public}/worktool/{robot.id}", secret)
                else:
                    failures += await _check_robot(client, robot.id, robot.name, secret)
            except WorkToolError as exc:
                failures += 1
                print(f"{robot.id}: FAILED: {_redact(str(exc), secret)}", file=sys.stderr)  # noqa: T201
    await redis.aclose()
    return 1 if failures else 0


async def _bind_robot(client: WorkToolClient, robot_id: str, base: str, secret: str) -> None:
    from bot.worktool.protocol import CALLBACK_OFFLINE, CALLBACK_ONLINE, CALLBACK_RESULT

    query = urlencode({"token": secret})
    url = f"{base}/message?{query}"
    await client.bind_message_callback(robot_id, url)
    print(f"{robot_id}: robotInfo/update openCallback=1 replyAll=1 callbackUrl={_redact(url, secret)}")  # noqa: T201
    targets = {
        CALLBACK_RESULT: f"{base}/result?{query}",
        CALLBACK_ONLINE: f"{base}/status?kind=online&{query}",
        CALLBACK_OFFLINE: f"{base}/status?kind=offline&{query}",
    }
    for kind, url in targets.items():
        await client.bind_callback(robot_id, kind, url)
        print(f"{robot_id}: callBack/bind type {kind} -> {_redact(url, secret)}")  # noqa: T201


async def _check_robot(client: WorkToolClient, robot_id: str, name: str, secret: str) -> int:
    """Print what the cloud knows of the robot; 1 when messages or status changes would not all reach the hub."""
    from bot.worktool.protocol import CALLBACK_MESSAGE, CALLBACK_OFFLINE, CALLBACK_ONLINE

    online = await client.is_online(robot_id)
    info = await client.robot_info(robot_id)
    bound = await client.callbacks(robot_id)
    print(f"{robot_id} ({name}): online={online} openCallback={info.open_callback} replyAll={info.reply_all}")  # noqa: T201
    urls = {row.get("type"): str(row.get("callBackUrl", "")) for row in bound}
    for row in bound:
        url = _redact(str(row.get("callBackUrl", "")), secret)
        print(f"  type {row.get('type')} ({row.get('typeName', '')}): {url}")  # noqa: T201
    problems = [f"{p}; `hub worktool bind` sets openCallback=1 replyAll=1" for p in [info.message_problem()] if p]
    if CALLBACK_MESSAGE not in urls:
        problems.append("no message callback is bound (type 11): no messages reach the hub; run `hub worktool bind`")
    for kind, word in ((CALLBACK_ONLINE, "online"), (CALLBACK_OFFLINE, "offline")):
        if kind in urls and f"kind={word}" not in urls[kind]:
            problems.append(
                f"type {kind} is bound without ?kind={word}: the hub learns the robot went {word} only if the"
                " body says so; run `hub worktool bind`"
            )
    for problem in problems:
        print(f"  WARNING: {problem}")  # noqa: T201
    return 1 if problems else 0


def _redact(text: str, secret: str) -> str:
    for form in {secret, quote(secret, safe="")} - {""}:
        text = text.replace(form, "<callback token>")
    return text


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="WorkTool Hub")
    parser.add_argument("--config", default=os.environ.get("HUB_CONFIG", "config.yaml"), help="config file")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="server + worker with embedded defaults (starts Redis if none answers)").set_defaults(
        func=cmd_run
    )
    sub.add_parser("serve", help="the web server only").set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="the arq worker only")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(func=cmd_worker)
    sim = sub.add_parser("sim", help="the WorkTool simulator: a fake WorkTool cloud posting callbacks to the hub")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=None, help="default: worktool.simulator.port")
    sim.add_argument("--hub-url", default=None, help="where callbacks go (default: server.public_url or host:port)")
    sim.add_argument("--scenario", default=None, help="scenario YAML ('' for none)")
    sim.add_argument("--play", action="store_true", help="play the scenario's message timeline at start")
    sim.add_argument("--time-scale", type=float, default=None, help="divides every simulated delay (10 = 10x faster)")
    sim.add_argument("--rate-limit", type=int, default=60, help="API requests per window per source IP")
    sim.add_argument("--rate-window", type=float, default=60.0, help="the rate limit's window in seconds")
    sim.set_defaults(func=cmd_sim)
    mig = sub.add_parser("migrate", help="apply database migrations, or roll back to a version with --to")
    mig.add_argument("--to", type=int, default=None, metavar="VERSION", help="undo the migrations above VERSION")
    mig.set_defaults(func=cmd_migrate)
    bak = sub.add_parser("backup", help="a consistent copy of the database while the hub runs (SQLite or pg_dump)")
    bak.add_argument("file", help="the backup file to write (must not exist)")
    bak.set_defaults(func=cmd_backup)
    rules = sub.add_parser("rules", help="check the rule files, or replay them over stored messages")
    rules.add_argument("action", choices=["check", "replay"])
    rules.add_argument("dir", nargs="?", default=None, help="rules directory (default: rules_dir)")
    rules.add_argument("--since", default=None, help="replay: messages from this date/time (default: 24 h ago)")
    rules.add_argument("--samples", type=int, default=20, help="replay: changed messages to show")
    rules.set_defaults(func=cmd_rules)
    wt = sub.add_parser("worktool", help="set up and inspect robots on the WorkTool cloud")
    wt.add_argument("action", choices=["bind", "check"], help="bind: point the callbacks at us; check: show them")
    wt.add_argument("--robot", default=None, help="one robot id (default: every configured robot)")
    wt.add_argument("--public-url", default=None, help="default: server.public_url")
    wt.set_defaults(func=cmd_worktool)
    users = sub.add_parser("users", help="the web console's accounts: add, reset, disable, enable, list")
    users.add_argument("action", choices=["add", "reset", "disable", "enable", "list"])
    users.add_argument("name", nargs="?", default=None, help="the account's login name")
    users.add_argument("--role", default=None, help="add: staff, manager or admin")
    users.add_argument("--person", default=None, help="add: the name in rules/people.yaml this account belongs to")
    users.set_defaults(func=cmd_users)
    mk = sub.add_parser("makemigrations", help="generate migrations for SQLite and PostgreSQL from the models")
    mk.add_argument("name")
    mk.add_argument(
        "--postgres-url", default=None, help="a PostgreSQL to generate against (default: a throwaway one started here)"
    )
    mk.add_argument("--dir", default=None, help="where the per-dialect migration sets live (default: migrations/)")
    mk.set_defaults(func=cmd_makemigrations)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args))
    except (ConfigError, RuleFileError, EmbeddedRedisError) as exc:
        print(f"hub: cannot start: {exc}", file=sys.stderr)  # noqa: T201 - CLI output
        return EXIT_CONFIG
    except PortUnavailable as exc:
        print(f"hub: cannot start: {exc}", file=sys.stderr)  # noqa: T201 - CLI output
        return EXIT_PORT
    except (MigrationError, PostgresUnavailable) as exc:
        print(f"hub: {args.command}: {exc}", file=sys.stderr)  # noqa: T201 - CLI output
        return 1
    except KeyboardInterrupt:
        return 130
    if args.command in ("serve", "worker") and argv is None:
        # Everything is closed by now. Skip interpreter finalization: in CI a worker that had logged a clean
        # stop sometimes never exited, hung past the point where even faulthandler's watchdog is gone, so
        # somewhere in C-level teardown. A supervisor must see the exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
