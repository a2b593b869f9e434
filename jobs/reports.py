"""arq cron job of the daily after-sales report: every minute it makes yesterday's report once
`reports.daily_at` has passed (business time zone), delivers it, and retries the deliveries that are due.
The state lives in `daily_reports`, so a lost run or a restarted worker changes nothing."""

from __future__ import annotations

from typing import Any

from bot.commands.outcomes import Listener
from bot.reports.daily import DEFAULT_OVERDUE_HOURS
from bot.reports.delivery import Reporter
from jobs.processing import WorkerDeps
from models.commands import Command, CommandStatus


def reporter_for(deps: WorkerDeps) -> Reporter:
    """A reporter over the worker's resources (cheap: built per run, so rule reloads apply)."""
    services = deps.services
    overdue_hours = (
        services.rules.current.assignment.assignment.overdue_hours if services is not None else DEFAULT_OVERDUE_HOURS
    )
    return Reporter(
        deps.settings,
        deps.clock,
        channels=deps.deliverer.channels if deps.deliverer is not None else None,
        commands=services.commands if services is not None else None,
        alerts=services.alerts if services is not None else None,
        overdue_hours=overdue_hours,
    )


async def daily_report_job(ctx: dict[str, Any]) -> dict[str, object]:
    """Cron (every minute): make and deliver yesterday's report when due; retry due deliveries."""
    deps: WorkerDeps = ctx["deps"]
    return (await reporter_for(deps).run_due()).as_dict()


def report_outcome_listener(deps: WorkerDeps) -> Listener:
    """For `outcomes.listen("report", …)`: a robot-delivered report that failed is recorded and alerted."""

    async def listen(command: Command, status: CommandStatus) -> None:
        await reporter_for(deps).on_command_outcome(command, status)

    return listen
