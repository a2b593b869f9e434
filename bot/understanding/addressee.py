"""Whom a staff or operator message addresses (issue 17). Pure.

Only a message to the user with the open item (or about their item) is staff taking over; a remark to a
colleague ("小王，下午的周会材料整理一下发我", "@小李 这个客户你接手一下"), to another owner or to the whole
group is not. Read, in this order, from:

1. a quote: WeChat's copy of a quoted reply starts with 「name：quoted text」 — whose message it answers;
2. @-mentions: the open item's sender → the user; a name or alias of `rules/people.yaml` → a colleague;
   another name → another owner (the user, when the open item's sender is not known);
3. a vocative: the message opens (or ends) with a colleague's name, alias or title ("小王，…", "…，张经理"),
   or opens with the open item's sender's name ("刘姐，…");
4. words: to everyone (大家, 各位) → the group; internal matters (周会, 报销, 工单) with no word for a customer
   (您, 亲) → a colleague;
5. otherwise nobody in particular: the message's position decides (right after an open item it answers it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from bot.rules.intervention import AddresseeRules

Addressee = Literal["user", "staff", "other_user", "group", "nobody"]
MENTION: Final = re.compile(r"@([^\s@\u2005\u00a0,，:：。!！?？]+)")
QUOTE: Final = re.compile(r"^\s*「(?P<who>[^：:」\n]{1,30})[：:](?P<quoted>[^」]*)」")
QUOTE_RULE: Final = re.compile(r"^\s*「[^」]*」\s*(?:-\s*)+\s*", re.DOTALL)
VOCATIVE_END: Final = r"(?=[，,：:、\s。！!~～]|你|$)"
ACKNOWLEDGED: Final = r"好的|收到|嗯|ok|好|行|明白|谢谢|辛苦"
# Everyone is addressed when the message opens with the word, or asks everyone to do something.
TO_EVERYONE: Final = r"(?=看|注意|知悉|留意|记得|都要|请|可以|按时|准时|务必|辛苦)"


@dataclass(frozen=True)
class Addressing:
    addressee: Addressee
    reason: str

    @property
    def elsewhere(self) -> bool:
        """Addressed to someone other than the user with the open item."""
        return self.addressee in ("staff", "other_user", "group")


def split_quote(text: str) -> tuple[str | None, str]:
    """(the quoted sender, the reply without the quote) of WeChat's copied quote format, else (None, text)."""
    found = QUOTE.match(text)
    if found is None:
        return None, text
    rest = QUOTE_RULE.sub("", text, count=1)
    return found["who"].strip(), rest


def _alternation(words: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in ordered)) if ordered else None


class AddresseeFinder:
    """Compiled once per rule set from intervention.yaml's `addressee:` and the names in people.yaml."""

    def __init__(self, rules: AddresseeRules, staff_names: Iterable[str]) -> None:
        self.staff_names = frozenset(n.strip() for n in staff_names if n.strip())
        colleagues = [*self.staff_names, *rules.colleague_titles]
        names = _alternation(colleagues)
        # "小王，…", "小王你…", and after an acknowledgement: "收到经理，…", "好的张经理"
        self._opens = (
            re.compile(f"^(?:{ACKNOWLEDGED})?(?:{names.pattern}){VOCATIVE_END}") if names is not None else None
        )
        self._closes = re.compile(f"[，,]\\s*(?:{names.pattern})[。！!~～\\s]*$") if names is not None else None
        self._titles = tuple(rules.colleague_titles)
        group = _alternation(rules.group_words)
        self._group = re.compile(f"^(?:{group.pattern})|(?:{group.pattern}){TO_EVERYONE}") if group else None
        self._announce = _alternation(rules.announcement_words)
        self._internal = _alternation(rules.internal_words)
        self._customer = _alternation(rules.customer_words)

    def is_colleague(self, name: str) -> bool:
        name = name.strip()
        return name in self.staff_names or any(name.endswith(t) for t in self._titles)

    def find(self, text: str, item_sender: str | None) -> Addressing:
        """`item_sender`: the name of the user whose item is open ("" if not known, None if nothing is open)."""
        quoted, body = split_quote(text)
        body = body.strip()
        found = (
            self._by_quote(quoted, item_sender)
            if quoted is not None
            else self._by_mentions(MENTION.findall(body), item_sender) or self._by_words(body, item_sender)
        )
        return found or Addressing("nobody", "")

    def _by_quote(self, quoted: str, item_sender: str | None) -> Addressing:
        if self.is_colleague(quoted):
            return Addressing("staff", f"quotes colleague {quoted}")
        if item_sender and quoted != item_sender:
            return Addressing("other_user", f"quotes {quoted}, not {item_sender}")
        return Addressing("user", f"quotes {quoted}")

    def _by_mentions(self, named: list[str], item_sender: str | None) -> Addressing | None:
        if not named:
            return None
        if item_sender and item_sender in named:
            return Addressing("user", f"@{item_sender}")
        owners = [n for n in named if not self.is_colleague(n)]
        if not owners:
            return Addressing("staff", "@" + " @".join(named) + " (colleague)")
        if item_sender:
            return Addressing("other_user", f"@{owners[0]}, not {item_sender}")
        return Addressing("user", f"@{owners[0]}")

    def _by_words(self, body: str, item_sender: str | None) -> Addressing | None:
        if item_sender and body.startswith(item_sender):
            return Addressing("user", f"opens with {item_sender}")
        checks: tuple[tuple[re.Pattern[str] | None, Addressee, str], ...] = (
            (self._opens, "staff", "opens with colleague"),
            (self._closes, "staff", "ends with colleague"),
            (self._group, "group", "to everyone"),
            (self._announce, "group", "an announcement"),
        )
        for pattern, addressee, what in checks:
            if pattern is not None and (found := pattern.search(body)):
                return Addressing(addressee, f"{what} '{found.group().strip('，, 。！!~～')}'")
        internal = self._internal.search(body) if self._internal is not None else None
        if internal is not None and (self._customer is None or not self._customer.search(body)):
            return Addressing("staff", f"internal matter ('{internal.group()}')")
        return None
