"""The full pipeline the worker runs for every message, in order."""

from __future__ import annotations

from handlers.alerts import alerts_step
from handlers.pipeline import Step, sender_role_step
from handlers.replies import reply_step
from handlers.tasks import tasks_step
from handlers.understanding import takeover_step, understand_step

FULL_STEPS: tuple[Step, ...] = (
    sender_role_step,
    understand_step,
    takeover_step,
    alerts_step,
    tasks_step,
    reply_step,
)
