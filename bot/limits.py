"""Every length and range limit of a stored value, declared once.

The callback schema, the API request schemas, the rule-file schemas and the models all use these
constants, so a value the edge accepts fits every column it is later copied into: PostgreSQL enforces
VARCHAR lengths (SQLite does not), and a value that fits one column but not the next one would fail a
pipeline step long after its callback was acknowledged. A value that cannot be stored fails its own
request with a 4xx at the edge instead. `COPIES` lists where a value is copied from one field into
another; tests/models/test_limits.py checks each target is at least as large as its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class IntRange:
    min: int
    max: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.min <= value <= self.max


# -- integer ranges (the column types) ----------------------------------------------------------------
SMALLINT: Final = IntRange(-(2**15), 2**15 - 1)
INT32: Final = IntRange(-(2**31), 2**31 - 1)  # IntField
BIGINT: Final = IntRange(-(2**63), 2**63 - 1)  # BigIntField
ROW_ID: Final = IntRange(1, BIGINT.max)  # a row id in an API path or body
ID_DIGITS: Final = len(str(BIGINT.max))  # a row id written in a key

# -- text: people, groups, robots ---------------------------------------------------------------------
NAME_CHARS: Final = 255  # a display name: a sender, a person in people.yaml, a group, an API caller, an actor
CONVERSATION_KEY_CHARS: Final = NAME_CHARS  # a group's remark, else its name
ROBOT_ID_CHARS: Final = 64  # a WorkTool robotId
EXTERNAL_ID_CHARS: Final = 128  # a WorkTool messageId (19 digits in practice)
WECOM_USERID_CHARS: Final = 64  # a WeCom userid (WeCom allows 64)
PHONE_CHARS: Final = 32
PROVIDER_ID_CHARS: Final = 128  # an alert provider's receipt: msgid, BizId, CallId...

# -- text: codes, labels and free text ----------------------------------------------------------------
STATE_CHARS: Final = 16  # a status, role, action, priority or source (a short fixed vocabulary)
KIND_CHARS: Final = 32  # an alert kind, task type, skill, channel, command purpose, intervention case
TYPE_CODE_CHARS: Final = 64  # a message type code (message_types.yaml)
LABEL_CHARS: Final = 64  # a rule file's display label: a level's name, an alert kind's title, a type's name
UID_CHARS: Final = 32  # uuid4().hex
HASH_CHARS: Final = 32  # a message's content hash
VERSION_CHARS: Final = 64  # the rule set's version hash
DAY_CHARS: Final = 10  # YYYY-MM-DD
LLM_MODEL_CHARS: Final = 128
REASON_CHARS: Final = 255  # a note or reason in words (cancel note, close reason, assignment reason)
IDEMPOTENCY_KEY_CHARS: Final = 255  # a command's reply key plus `#part`
API_IDEMPOTENCY_KEY_CHARS: Final = 200  # what a caller may send: leaves room for the `api:` prefix and `#part`
PASSWORD_HASH_CHARS: Final = 255  # an argon2id PHC string (~100 chars with the default parameters)

# -- composite keys: built from the parts above, so they hold the longest parts -----------------------
ALERT_KEY_CHARS: Final = KIND_CHARS + 1 + ID_DIGITS + 1 + NAME_CHARS  # kind:conversation:subject
TASK_KEY_CHARS: Final = ID_DIGITS + 1 + NAME_CHARS + 1 + KIND_CHARS  # conversation:user:type
ALERT_TITLE_CHARS: Final = LABEL_CHARS + 3 + NAME_CHARS  # "<kind title> · <conversation name>"
NOTIFICATION_TARGET_CHARS: Final = 6 + NAME_CHARS  # a person's name, "conv:<id>", "group:<group name>"

# Where a value is copied from one field into another: (source, target), as `Class.field` of a model in
# models/ or of a pydantic schema (`MessageCallback.received_name`). The target holds at least the source.
COPIES: Final[tuple[tuple[str, str], ...]] = (
    # a callback into the message row
    ("MessageCallback.received_name", "InboundMessage.sender_name"),
    ("MessageCallback.group_name", "Conversation.name"),
    ("MessageCallback.group_name", "Conversation.key"),
    ("MessageCallback.group_remark", "Conversation.key"),
    ("MessageCallback.group_name", "ConversationName.name"),
    ("MessageCallback.message_id", "InboundMessage.external_id"),
    ("MessageCallback.msg_id", "InboundMessage.external_id"),
    ("MessageCallback.message_id", "MessageSighting.external_id"),
    ("Robot.id", "InboundMessage.robot_id"),
    ("Robot.id", "MessageSighting.robot_id"),
    ("Robot.id", "ConversationRobot.robot_id"),
    ("Robot.id", "ResultCallback.robot_id"),
    ("Robot.id", "Command.robot_id"),
    ("Robot.id", "Alert.subject"),  # robot_offline, command_failed
    ("Robot.id", "Notification.provider_id"),  # a worktool channel's row names its robot
    # the sender into the alerts, tasks and pauses that follow
    ("InboundMessage.sender_name", "Alert.subject"),
    ("InboundMessage.sender_name", "Alert.cancelled_by"),
    ("InboundMessage.sender_name", "Alert.claimed_by"),
    ("InboundMessage.sender_name", "AlertEvent.actor"),
    ("InboundMessage.sender_name", "AfterSalesTask.user"),
    ("InboundMessage.sender_name", "AfterSalesTask.closed_by"),
    ("InboundMessage.sender_name", "TaskEvent.actor"),
    ("InboundMessage.sender_name", "Conversation.paused_by"),
    ("InboundMessage.type", "MessageType.code"),
    ("MessageType.code", "InboundMessage.type"),
    ("Alert.subject", "AlertEvent.actor"),
    ("AfterSalesTask.user", "Alert.subject"),  # user_no_response
    # people.yaml into the rows that name a person
    ("Person.name", "AfterSalesTask.assignee"),
    ("Person.name", "AfterSalesTask.auto_assigned_by"),
    ("Person.name", "Notification.recipient"),
    ("Person.name", "Command.target"),
    ("Person.name", "Command.requested_by"),
    ("Person.name", "Alert.cancelled_by"),
    ("Person.name", "Alert.claimed_by"),
    ("PersonRule.name", "Person.name"),
    ("PersonRule.wecom_userid", "Person.wecom_userid"),
    ("Notification.recipient", "Notification.target"),
    ("AlertsFile.supervisors", "Notification.recipient"),
    ("AlertsFile.escalation_list", "Notification.recipient"),
    ("AlertSettings.worktool_group", "Command.target"),
    # a conversation into the commands sent to it
    ("Conversation.key", "Command.target"),
    ("Conversation.key", "ConversationAlias.key"),
    ("Conversation.kind", "ConversationAlias.kind"),
    ("ApiToken.name", "Command.requested_by"),
    ("ApiToken.name", "Alert.cancelled_by"),
    ("ApiToken.name", "AfterSalesTask.closed_by"),
    ("ApiToken.name", "ConversationAlias.created_by"),
    # a console account is the actor of what it does, like a token (request[CALLER])
    ("Account.name", "Command.requested_by"),
    ("Account.name", "Alert.cancelled_by"),
    ("Account.name", "AlertEvent.actor"),
    ("Account.name", "AfterSalesTask.closed_by"),
    ("Account.name", "TaskEvent.actor"),
    ("Account.name", "ConversationAlias.created_by"),
    ("Person.name", "Account.person"),
    ("RobotSettings.id", "Robot.id"),
    ("RobotSettings.name", "Robot.name"),
    ("LlmSettings.model", "LlmUsage.model"),
    ("AssignRequest.user", "AfterSalesTask.user"),
    ("AssignRequest.task_type", "AfterSalesTask.task_type"),
    ("CancelRequest.cancel_reason", "Alert.cancel_note"),
    # WorkTool's messageId of a sent command, matched against result callbacks
    ("ResultCallback.message_id", "Command.worktool_message_id"),
    # rule files into their tables
    ("Level.name", "AlertLevel.name"),
    ("TaskType.type", "AfterSalesTask.task_type"),
    ("TaskType.skill", "AfterSalesTask.skill"),
    ("MessageTypeRule.code", "MessageType.code"),
    ("MessageTypeRule.name", "MessageType.name"),
)
