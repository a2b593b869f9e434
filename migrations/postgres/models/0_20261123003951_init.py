from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "robots" (
    "id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "name" VARCHAR(128) NOT NULL,
    "roles" JSONB NOT NULL,
    "enabled" BOOL NOT NULL,
    "online" BOOL,
    "last_callback_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "robot_status_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "received_at" TIMESTAMPTZ NOT NULL,
    "online" BOOL,
    "payload" JSONB NOT NULL,
    "robot_id" VARCHAR(64) NOT NULL REFERENCES "robots" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_robot_statu_receive_28f801" ON "robot_status_events" ("received_at");
COMMENT ON TABLE "robot_status_events" IS 'A raw online or offline callback (its body is undocumented, so all of it is kept).';
CREATE TABLE IF NOT EXISTS "conversations" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "room_type" SMALLINT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_message_at" TIMESTAMPTZ,
    CONSTRAINT "uid_conversatio_kind_822665" UNIQUE ("kind", "key")
);
CREATE TABLE IF NOT EXISTS "conversation_aliases" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "created_by" VARCHAR(128) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "conversation_id" BIGINT NOT NULL REFERENCES "conversations" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_conversatio_kind_6e388e" UNIQUE ("kind", "key")
);
COMMENT ON TABLE "conversation_aliases" IS 'An admin-made mapping: callbacks keyed `key` belong to `conversation` (e.g. after a rename).';
CREATE TABLE IF NOT EXISTS "conversation_names" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(255) NOT NULL,
    "first_seen_at" TIMESTAMPTZ NOT NULL,
    "conversation_id" BIGINT NOT NULL REFERENCES "conversations" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_conversatio_convers_446a19" UNIQUE ("conversation_id", "name")
);
COMMENT ON TABLE "conversation_names" IS 'Every name a conversation has been seen under (rename history).';
CREATE TABLE IF NOT EXISTS "people" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(128) NOT NULL UNIQUE,
    "aliases" JSONB NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "skills" JSONB NOT NULL,
    "shift" JSONB NOT NULL,
    "phone" VARCHAR(32),
    "wecom_userid" VARCHAR(64),
    "max_open_tasks" INT NOT NULL,
    "active" BOOL NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "inbound_messages" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "robot_id" VARCHAR(64) NOT NULL,
    "external_id" VARCHAR(128),
    "sender_name" VARCHAR(255) NOT NULL,
    "text" TEXT NOT NULL,
    "raw_text" TEXT NOT NULL,
    "text_type" INT NOT NULL,
    "room_type" SMALLINT NOT NULL,
    "at_me" BOOL NOT NULL,
    "content_hash" VARCHAR(32) NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL,
    "payload" JSONB NOT NULL,
    "file_base64" TEXT,
    "state" VARCHAR(16) NOT NULL,
    "attempts" INT NOT NULL,
    "processed_at" TIMESTAMPTZ,
    "error" TEXT,
    "sender_role" VARCHAR(16),
    "type" VARCHAR(64),
    "type_confidence" DOUBLE PRECISION,
    "type_reason" TEXT,
    "type_source" VARCHAR(16),
    "is_staff_intervention" BOOL,
    "intervention_case" VARCHAR(32),
    "intervention_reason" TEXT,
    "rules_version" VARCHAR(64),
    "conversation_id" BIGINT NOT NULL REFERENCES "conversations" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_inbound_mes_state_f7b6c9" ON "inbound_messages" ("state", "conversation_id", "id");
COMMENT ON COLUMN "inbound_messages"."state" IS 'PENDING: pending\nPROCESSED: processed\nFAILED: failed';
CREATE TABLE IF NOT EXISTS "message_sightings" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "robot_id" VARCHAR(64) NOT NULL,
    "external_id" VARCHAR(128),
    "at_me" BOOL NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL,
    "message_id" BIGINT NOT NULL REFERENCES "inbound_messages" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_message_sig_message_c6c9fc" UNIQUE ("message_id", "robot_id")
);
COMMENT ON TABLE "message_sightings" IS 'Another robot''s report of a stored message (several robots in one group see each message).';
CREATE TABLE IF NOT EXISTS "message_types" (
    "code" VARCHAR(64) NOT NULL PRIMARY KEY,
    "name" VARCHAR(64) NOT NULL,
    "category" VARCHAR(16) NOT NULL,
    "description" TEXT NOT NULL,
    "sort_order" INT NOT NULL
);
CREATE TABLE IF NOT EXISTS "result_callbacks" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "robot_id" VARCHAR(64) NOT NULL,
    "message_id" VARCHAR(64) NOT NULL,
    "error_code" INT,
    "received_at" TIMESTAMPTZ NOT NULL,
    "payload" JSONB NOT NULL,
    "handled_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_result_call_robot_i_ab25f0" ON "result_callbacks" ("robot_id");
CREATE INDEX IF NOT EXISTS "idx_result_call_message_fcc5c1" ON "result_callbacks" ("message_id");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXW1v27YW/iuEv9wM6ILUSZOsGC7gJG7nu8QObG93WFeotETbQmTSE+mmxm7++yVlSZ"
    "YoSrEcSZFVfskLxUPJz6EOn/NC+p/WgljIocdDMiGs9R7808Jwgfgf8QtvQAsul9tm0cDg"
    "xPF6uqKL1wQnlLnQFANNoUMRb7IQNV17yWyCeSteOY5oJCbvaOPZtmmF7b9XyGBkhtgcuf"
    "zCp8+82cYW+oZo8O/ywZjayLFiT2pb4t5eu8HWS6/teg7dD15PcbuJYRJntcDb3ss1mxMc"
    "dudPI1pnCCMXMmRFPoB4Pv+TBk2bZ+UNzF2h8CGtbYOFpnDlsMgHnhjbtpZh9AdjY9QdG0"
    "YrB0QmwQJeGzPqff4F/GY4CM/YnP97fva0uc8Wh00vccPfO8PrXzrDo/OzH8QNCdfRRnV9"
    "/0rbu/TkDQEZ3Aziob6F2fudA+igfzFQBw1brLczrHKw37Yvd0Cb90qF27sm8N7i6xIH0S"
    "TA/xkN+mqAQwEJYcs2GfgfcGzKykK69fN0hU0BIpisbIfZmB6L+/27VRL+GXALgMTIC0r/"
    "dqIoH911/pAVcH07uPIgI5TNXG8Ub4ArSRkIC3gUhuWKcNQhVmskIiXpZMLFylJGYHSqhf"
    "1qMLiNwX7VG0tg/3Z31eWvgacD3slmXnOvP5bAJtixscK2ZGK9FdoPah+1uhiYapB2IGWG"
    "CR1nAs0HA7Ik5jccMWYvkBp0lbxsffwBjoM/GqWLce+uOxp37u5jCrnpjLviSttrXUutR+"
    "eSFQoHAf/tjX8B4l/w56DflQ1T2G/8Z0s8E1wxYmDyaEAriknQHDTFNG66SOC+h67jkgVo"
    "uXZrOv+A1gA7a38GHoja/ZclU+urpbWn1uOSWut10briZfeeXnhF04cIYRcNwjo/QtcyYl"
    "e204MyyFbUQF8RZgrKeeWLf/h1iBzoAZycC1H/cOSN1xXDHeCMeAregaA1ii1pkzRwk5cW"
    "7YXcAjGceR9J3FvcKQ23NN9bwvYZN9xIqPZZn7zVAS58BBs+BYgLyHTq/Rms8+DIZhRMiL"
    "UGNgUrzBFdLfjwyHoDKAG8FxcBNhNXH9CS/XDcknAv6RYFxwyu7FkPsxxRAzs53X3jXN+g"
    "wUw8wo8/tdunpxftk9Pzy3dnFxfvLk8ueV/veZOXLrK4ae+jYJkxixfQzvRQgotMZH/da3"
    "2SRKtZoKrU0OGuR0kaoh27qhy7JVw7BCqMWnr4KCJSfQDpdQAvJVS0WXfzBaGjMg2MjxYT"
    "jE5QWwnzJOAfiIvsGf4VrT3Ye/wRITZVtkTObhwY3GmUlTdzohXyndg845+ef2a0sSDXnd"
    "F156bbekp3F8pkv9cEf0Uuhf7nTjDf2PVM1mtGepaQg/rUeuAqFuM+oHXrs6aXh0AvA5Xt"
    "ao2D/g20xG/Pd0lUyRwxkqc6l9NU4j3Ig+2mewOhbb97twO2vFcquN61OLo6yVouvi4hiw"
    "1KCZBHC+g4qRY6Jvi8oS4K7ZNyDfVp++I8NM3inyxjPLrr3N4mXQ+dYXiOpjXCl/dSfwtE"
    "KWd0+2YO4+I6cVg3fe+VTICODamqciVPGiFK+DtiwMN925N5BHmBLxCrPjxkw5gNlW8tXo"
    "hWD0/IClt3m8GahFVVDvrmfXzGSw9f2t1cdSNiNXbIUGEArYWNf1xAC4EFvwUH7H2YPRI5"
    "oTWywBf+6wuYIIfgGWAEfIne8Qs4QsezYwCnDLkAAheJT6PKVZV8Mx1l0FGGhrlqOspwWF"
    "5w4HhNcoEcl2og1qWUdWv3+Dlmc7DuUkzNUXKTd2FWCFcXYmrEQp2RKzSlXNILU4ZyaurA"
    "VLJr5lAxJeuaQOxvFJ3pngR+8o7eSeilP++bdLnUGggBzvOjg4A5pNw/QBhQ8YP7oNwVON"
    "p4AmBuU0bctcL9KGA8pYchvwYeWNrVqI0Fy3I1dFaoXD48tV3KDPFa7UHTEsKaqWmmdmgK"
    "1kytdippCFO758+mLvLyr2SysiUiSwftxMRy1XVp3lMXe1Bf3lOj0x1KiUylJm7Ta8YjIv"
    "rQgRjhKaaS3Mk13YP+DaT5xWcU6IPtOLkm+1ZCz/XC5zqd21OFq5WhjUCgHsoQt22MMpYc"
    "0FyWJxTYy/TUrGorbnlO2ztYntN2quURl+LoPiKTLIwVRW6+TUKyXPOwLurQqohrwYcnS8"
    "RRgvRBYe1TiXtSsDq/vl1ylW/77dnF2eXp+VlI3sOWLM6eLPXl7pf9Ne9+zq2QPhNp9w2d"
    "+gSP9Fn93Z7gUWacRqqTVMRrkpWU6XEbe9PXiNZwlhrB+eQdauI9lSIgxn9+1jGeWsZ49P"
    "bpCmgR+saQi6GTE2dJrHkEtJS4GkUiNW/kDV5KYg2c16XkbhmfpEmYx7xVDXPQvxH4ZlGf"
    "7h/j7EBByHxuB/2PQXc5eiBFKOGjkRfwqIwGfQ/QBXgpe1ZTOUpMpjpP9m25VKUwR1ZvAy"
    "58GzAU2zvzhgYCmQojA2HLwYYG+E0ZwsyYQzrPQzBkuUYY47KDt4d2VF1tVsJ6R16SZWH6"
    "BLVXSz9NbQcZE0jR+VkeYimJNcE7rZpahjGz5BrSxatFotAu7rAGwtUtJK0ld5IFgPnwb9"
    "13+ze9/sf3wJf/C98PB9fd0ah7w9tcYiJKkfUX/tDp3YqmKbT973F4/cIFyBhaLFXnNKey"
    "1KhIY0hqYeQ/1Pcea7osq88wqfOajlyXuHmWlFBALyZ7LCabAGbeKjZJrAnIl70kqCMX6R"
    "CnBCwagG3xqRIxhCi6n9oW8lmPtA+Bc/60qFtSVoJ8KoQPD/QMkG8Gv13ddsH9sHvdG/V8"
    "7yBcBbyL8YDGsNu5VWHuIkhV+z4yQvlxsSbM7spjywJCSlauaqZnG5SIWBOQL9tm21R8N8"
    "d0avAbIld8PYdyl1NmvDR1DH1S/s7R0yh0hglprnmvFG7e7C8+jBoDLr+lTxFvAvKVp3BX"
    "DqKGKJBS2p+MohtZsAnol80m9WZjvdn4EFRS1GbjYXc0Hvaux1m7jSMRA3s2Z/yxXnjEp1"
    "+ROvJHaxD8pZ7xKcOmKPlVIJte8xuc7hzT6i6HexJR0wu8os5/UeCiJXGZ+L43CMShNsgC"
    "/sjgiCI++6Cz6UuBjQHBCMxcslqKU3EAguY86K082rPMWymP3Vlsq6XDqlV96k5tFog3QF"
    "cm68rkGiJdzo5/XaNVUZRBlw19JynGgPTkXarjctqtK8qti/CtF3p0jf3igDeSTxefinU6"
    "O8rHfrxRTJp3Mvazm897Jpv5tYtXkg7yCw6TMvmT5SE5Qf/GHWdUFI2s68lRr22Iyw5qci"
    "hmxM13eHxEpoEgF58vjD5WAuf0TIkkVmFpZusV2GIpZUzEZQZxLaSoHEulc3EhXXOpZGmv"
    "QyKGiHJorv2v71HxCKlHJpVwvb5G+G1Ar8cmdHBQBweTJuLwSd1uvnU6ypmetcZZFYMVVc"
    "+G2jtJNSdxob1WvLoFYIveZKxjgN9HDFBvHXy1rYNziC1nr1csLqn38dTtBauJ99BBrm3O"
    "Wwqvwb+S6S3AbZ/a+Ajfi4PwwnU8nfrvUTv50qrJupn5Cs51Ei9VDoT97g1E9+3JyS6xxZ"
    "OT9OCiuKY8QyQPZYmIaMqSk7K86mL29H9kPQwB"
)
