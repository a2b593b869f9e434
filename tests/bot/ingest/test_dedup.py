from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.callbacks.payloads import MessageCallback
from bot.ingest.dedup import Candidate, Verdict, decide
from bot.ingest.incoming import Incoming, conversation_of, normalise

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=15)


def incoming(robot: str = "r1", ext: str | None = None, at: datetime = T0, text: str = "在的") -> Incoming:
    data = {"receivedName": "号主A", "groupName": "群1", "roomType": 1, "spoken": text, "rawSpoken": text}
    if ext:
        data["messageId"] = ext
    return normalise(robot, MessageCallback.model_validate(data), at)


def stored(mid: int, sightings: dict[str, str | None], at: datetime = T0) -> Candidate:
    return Candidate(mid, incoming().content_hash, at, dict(sightings))


def test_nothing_similar_is_new() -> None:
    assert decide(incoming(), None, [], WINDOW).verdict is Verdict.NEW


def test_known_message_id_from_the_same_robot_is_a_redelivery() -> None:
    known = stored(7, {"r1": "m1"})
    decision = decide(incoming(ext="m1"), known, [known], WINDOW)
    assert (decision.verdict, decision.message_id) == (Verdict.REDELIVERY, 7)


def test_known_message_id_from_another_robot_is_a_copy() -> None:
    known = stored(7, {"r1": "m1"})
    assert decide(incoming("r2", ext="m1"), known, [known], WINDOW).verdict is Verdict.COPY


def test_same_text_from_another_robot_within_window_is_a_copy() -> None:
    decision = decide(incoming("r2", ext="x9", at=T0 + timedelta(seconds=10)), None, [stored(3, {"r1": "m1"})], WINDOW)
    assert (decision.verdict, decision.message_id) == (Verdict.COPY, 3)


def test_same_text_outside_window_is_new() -> None:
    later = incoming("r2", at=T0 + timedelta(seconds=16))
    assert decide(later, None, [stored(3, {"r1": None})], WINDOW).verdict is Verdict.NEW


def test_redelivery_without_id_then_with_id_attaches_the_id() -> None:
    decision = decide(incoming("r1", ext="m5", at=T0 + timedelta(seconds=3)), None, [stored(3, {"r1": None})], WINDOW)
    assert (decision.verdict, decision.message_id, decision.attach_external_id) == (Verdict.REDELIVERY, 3, True)


def test_redelivery_without_any_id_is_the_same_message() -> None:
    decision = decide(incoming("r1", at=T0 + timedelta(seconds=3)), None, [stored(3, {"r1": None})], WINDOW)
    assert (decision.verdict, decision.attach_external_id) == (Verdict.REDELIVERY, False)


def test_same_robot_two_different_ids_is_a_real_repeat() -> None:
    assert decide(incoming("r1", ext="m2"), None, [stored(3, {"r1": "m1"})], WINDOW).verdict is Verdict.NEW


def test_copies_fill_the_oldest_message_this_robot_has_not_reported() -> None:
    first, second = stored(3, {"r1": "m1", "r2": None}), stored(4, {"r1": "m2"})
    decision = decide(incoming("r2"), None, [first, second], WINDOW)
    assert (decision.verdict, decision.message_id) == (Verdict.COPY, 4)


@pytest.mark.parametrize(
    ("data", "kind", "key", "name"),
    [
        ({"groupName": "群名", "groupRemark": "备注", "roomType": 1}, "group", "备注", "群名"),
        ({"groupName": "群名", "groupRemark": "", "roomType": 3}, "group", "群名", "群名"),
        ({"groupName": "群名", "roomType": 0}, "group", "群名", "群名"),
        ({"groupName": "", "roomType": 2}, "private", "号主A", "号主A"),
        ({"roomType": 0}, "private", "号主A", "号主A"),
    ],
)
def test_conversation_keys(data: dict[str, object], kind: str, key: str, name: str) -> None:
    ref = conversation_of(MessageCallback.model_validate({"receivedName": "号主A", **data}))
    assert (ref.kind, ref.key, ref.name) == (kind, key, name)


def test_group_without_any_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="groupName"):
        conversation_of(MessageCallback.model_validate({"receivedName": "a", "roomType": 1}))


def test_hash_uses_raw_text_so_every_robot_agrees() -> None:
    # Each robot's `spoken` drops its own @mention; rawSpoken is what all of them saw.
    a = MessageCallback.model_validate(
        {"receivedName": "u", "groupName": "g", "spoken": "你好", "rawSpoken": "@甲 你好"}
    )
    b = MessageCallback.model_validate(
        {"receivedName": "u", "groupName": "g", "spoken": "@甲 你好", "rawSpoken": "@甲 你好"}
    )
    assert normalise("r1", a, T0).content_hash == normalise("r2", b, T0).content_hash


def image(robot: str = "r1", data: str | None = None, **extra: str) -> Incoming:
    body = {"receivedName": "号主A", "groupName": "群1", "roomType": 1, "spoken": "", "textType": 2, "messageId": ""}
    if data is not None:
        body["fileBase64"] = data
    return normalise(robot, MessageCallback.model_validate({**body, **extra}), T0)


def test_images_with_different_data_differ_and_the_same_image_agrees() -> None:
    assert image(data="iVBORa").content_hash != image(data="iVBORb").content_hash
    assert image("r1", data="iVBORa").content_hash == image("r2", data="iVBORa").content_hash
    assert image(fileName="a.png").content_hash != image(fileName="b.png").content_hash
    assert incoming().content_hash == incoming().content_hash  # text messages hash as before: no file part


def test_an_image_without_data_is_never_folded_into_the_same_robots_earlier_one() -> None:
    first = image()
    assert not first.has_content
    assert first.external_id is None
    earlier = Candidate(3, first.content_hash, T0, {"r1": None})
    assert decide(image(), None, [earlier], WINDOW).verdict is Verdict.NEW


def test_an_image_without_data_is_still_another_robots_copy() -> None:
    earlier = Candidate(3, image().content_hash, T0, {"r1": None})
    decision = decide(image("r2"), None, [earlier], WINDOW)
    assert (decision.verdict, decision.message_id) == (Verdict.COPY, 3)


def test_the_same_image_data_again_from_the_same_robot_is_a_redelivery() -> None:
    earlier = Candidate(3, image(data="iVBORa").content_hash, T0, {"r1": None})
    assert decide(image(data="iVBORa"), None, [earlier], WINDOW).verdict is Verdict.REDELIVERY
