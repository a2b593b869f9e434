"""The arq job names, in one place: the worker registers these, the rest of the hub enqueues them."""

from __future__ import annotations

from typing import Final

PROCESS_JOB: Final = "process_conversations"  # drain conversations' pending messages (jobs/processing.py)
DISPATCH_JOB: Final = "dispatch_robot"  # send a robot's queued commands (jobs/commands.py)
# The sends' own arq queue, served by a second poll loop of the worker (jobs/worker.py): a reply must not wait
# behind a backlog of processing jobs in the default queue (arq starts a queue's jobs in order).
DISPATCH_QUEUE: Final = "arq:queue:dispatch"
CHECK_RESULTS_JOB: Final = "check_results"  # ask WorkTool for results that never came back
OUTCOME_JOB: Final = "command_outcome"  # run the listeners of a command's final outcome
STEP_JOB: Final = "alert_step"  # an alert's due escalation step (jobs/alerts.py)
DELIVER_JOB: Final = "deliver_alerts"  # an alert channel's pending notifications for one target
TASK_CHECK_JOB: Final = "task_response_check"  # an after-sales task's response deadline (jobs/tasks.py)
