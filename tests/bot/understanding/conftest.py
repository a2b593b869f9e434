"""A small, complete rule set written to a temporary directory (the shipped one is tested separately)."""

from __future__ import annotations

from pathlib import Path

import pytest

MESSAGE_TYPES = """\
fallback_confidence: 0.3
types:
  - code: chat_daily
    name: 日常聊天
    category: user
    rules:
      - {name: 问候, phrases: [早上好, 晚上好, 节日快乐], weight: 0.7}
    examples:
      - {text: 大家早上好}
  - code: chat_after_sales
    name: 售后任务
    category: user
    rules:
      - {name: 扫码, phrases: [二维码, 扫码], not: [已经扫], weight: 0.8}
      - {name: 验证码, regex: ["验证码.{0,6}(收不到|没收到|发不过来)"], weight: 0.8}
      - {name: 认证, tokens: [认证], weight: 0.5}
    examples:
      - {text: 二维码过期了}
  - code: chat_complaint
    name: 用户投诉
    category: user
    rules:
      - {name: 退款, phrases: [退钱, 退款, 退给我, 骗], weight: 0.9}
  - code: chat_response
    name: 用户回应
    category: user
    rules:
      - {name: 在, phrases: [在, 好的, 已经扫, 不弄了], max_len: 12, weight: 0.9, context: {at_to_sender_within_s: 1800}}
    examples:
      - {text: 在的, context: [{role: staff, content: "@刘姐 在吗"}]}
      - {text: 在的, expect: chat_other}
  - code: chat_other
    name: 其他
    category: user
    fallback: true
  - code: staff_reply_user
    name: 回复用户
    category: staff
    rules:
      - {name: 回复, phrases: [您好, 重新发, 我来跟进], weight: 0.7}
  - code: staff_other
    name: 其他
    category: staff
    fallback: true
  - code: operator_tone_hard
    name: 语气强硬
    category: operator
    rules:
      - {name: 强硬, phrases: [早就跟你说过, 没法做了], weight: 0.9}
  - code: operator_other
    name: 其他
    category: operator
    fallback: true
"""

INTERVENTION = """\
needs_staff_now: {types: [chat_complaint, operator_tone_hard], priority: high}
refusal: {phrases: [不弄了, 别烦]}
needs_after_sales: {types: [chat_after_sales]}
staff_took_over:
  types: [staff_reply_user]
  open_item_types: [chat_complaint, chat_after_sales]
examples:
  - {text: 把钱退给我, expect: needs_staff_now}
  - {text: 您好，二维码重新发您了, role: staff, context: [{role: user, content: 二维码过期了}], expect: staff_took_over}
  - {text: 您好，二维码重新发您了, role: staff, expect: no_staff_needed}
"""

REPLIES = """\
holding:
  - {name: 投诉安抚, types: [chat_complaint], reply: "@{sender} 抱歉，已通知{staff}处理"}
faq:
  - {name: 二维码, phrases: [二维码], reply: "二维码5分钟有效，已通知{staff}重发", types: [chat_after_sales]}
examples:
  - {text: 二维码过期了, type: chat_after_sales, at_me: true, expect: 二维码}
  - {text: 二维码过期了, type: chat_after_sales, expect: null}
  - {text: 退钱, type: chat_complaint, expect: 投诉安抚}
"""


def write_rules(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    contents = {"message_types.yaml": MESSAGE_TYPES, "intervention.yaml": INTERVENTION, "replies.yaml": REPLIES}
    contents.update({name.replace("_yaml", ".yaml"): text for name, text in files.items()})
    for name, text in contents.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return write_rules(tmp_path / "rules")
