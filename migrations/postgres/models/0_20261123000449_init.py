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
COMMENT ON TABLE "message_sightings" IS 'One robot''s report of a message; several robots in one group report the same message.';
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
    "eJztXW1z4rYW/isavtx0ZptJSDZJt507Qwi7pU0gA/Rlut3xCizAEyNRS2yW6c1/v5LfsG"
    "XZwcQmxqsveZF0ZPs58tFzzpHkfxsLYiKbHg/ImLDGO/BvA8MF4n/EK96ABlwuN8WigMGx"
    "7bZ0RBO3CI4pc+BEdDSFNkW8yER04lhLZhHMS/HKtkUhmfCGFp5tilbY+meFDEZmiM2Rwy"
    "s+fuLFFjbRV0SDf5cPxtRCthm7U8sU13bLDbZeumXtOXTeuy3F5cbGhNirBd60Xq7ZnOCw"
    "Ob8bUTpDGDmQITPyAOL+/CcNirx75QXMWaHwJs1NgYmmcGWzyAOPjU1ZwzB6/ZEx7IwMo5"
    "EDognBAl4LM+o+/wJ+NWyEZ2zO/704f/Kus8HBayUu+Htr0P65NTi6OP9OXJBwHXmq6/k1"
    "Tbfqye0CMuh14qK+gdn9nQPooH0xUAcFG6w3I2zvYJ82r7ZAm7dKhdutE3hv8HWIjWgS4F"
    "+G/Z4a4FBAQti0Jgz8D9gWZWUh3fhpusITASIYryybWZgei+v9t1ES/hlwC4BEzwtK/7Gj"
    "KB/dtf6UFdC+7V+7kBHKZo7bi9vBtaQMhAU8CsNyTTjqEKs1EpGSdDLmYmUpIzA6+4X9ut"
    "+/jcF+3R1JYP92d93hr4GrA97IYm5xtzeSwCbYtrDCtmRivRHaDWoftaoYmP0gbUPKjAm0"
    "7TGcPBiQJTG/4Ygxa4HUoKvkZevjd3Ac/FErXYy6d53hqHV3H1PITWvUETVNt3QtlR5dSF"
    "Yo7AT80R39DMS/4K9+ryMbprDd6K+GuCe4YsTA5NGAZhSToDgoiml84iCB+w66jksWoOXK"
    "zen8Ac0+ttf+CDwQtfsvS6bWV0tzR63HJbXWq6J1xcvu3r3wiqYPEcIuCoR1foSOacRqNs"
    "ODMshW1EBfEGYKynnti7//dYBs6AKcHAtR/3Do9tcR3R3giHgK3oGgNIotaZI0cJNVi+ZC"
    "LoEYztxHEtcWV0rDLc33lrB9xg03Eqp91idvtIADH4HHpwBxAJlO3T+DeR4cWYyCMTHXwK"
    "JghTmiqwXvHplvACWAt+IiwGKi9gEt2XfHDQn3ki5RcMzg2pp1McsRNbCSw903ztUNGszE"
    "LXz/Q7N5dnbZPDm7uHp7fnn59urkird17zdZdZnFTbsfBMuMWbyAdqaHEhw0QdaXneYnSX"
    "Q/E9Q+NXS481GShmjHbl+O3RKubQIVRi09fBQR2X8A6XUALyVU5M27+YLQUZkaxkeLCUYn"
    "qK2EeRLw98RB1gz/itYu7F1+ixBPVLZEzm4cGNxplJUXc6IV8p3YOONPz58ZeRak3Rq2Wz"
    "edxlO6u1Am+20T/AU5FPrPnWC+sfpM1juJtCwhB/Wx8cBVLPp9QOvGJ00vD4FeBirb1hoH"
    "7WtoiU8vtklUyRwxkqe6kNNU4j3Ig63XvIbQNt++3QJb3ioVXLcujq5OspaLr0PIwkMpAf"
    "JwAW071ULHBJ831EWhfVKuoT5rXl6Epln8k2WMh3et29uk66EzDM/RtFr48m7qb4Eo5Yxu"
    "18xhXFwnDqum752SCdC2IFWtXMmTRogS/pbo8HDf9mQeQZ7gC8SqBw/ZMGZD5VuLF6LVxW"
    "Oywuad11mdsNqXg+69j8946eFLu52rbkSsxhYZKgygubDw9wtoIrDgl+CAvQuzRyIntEYm"
    "+Mx/fQZjZBM8A4yAz9ErfgZH6Hh2DOCUIQdA4CDxNKpcVckX01EGHWWomaumowyH5QUHjt"
    "c4F8hxqRpiXcqybu0eP8dsDtZdiqk5Sm7yTswK4f2FmGoxUWfkCidSLumFKUM5NXVgKtk2"
    "c6gYklVNIPY8RWe6J4GfvKV3Enrpz/smHS61BkKA8/xoJ2AOKfcPEAZU/OA+KHcFjjxPAM"
    "wtyoizVrgfBfSn9DDk18AFS7salbFgWa6GzgqVy4enlkOZIV6rHWhaQlgzNc3UDk3BmqlV"
    "TiU1YWr3/N7Ui7z8mkxWtkRkaaOtmFiudV2a91TFHlSX91TodIdSIlOpidv0NeMREX3oQI"
    "zwFLOS3M413IP2NaT5xWcU6INl27kG+0ZCj/XCxzqdW1OFq5WhjUCgGsoQl62NMpYc0FyW"
    "JxTYyfRUbNVW3PKcNbewPGfNVMsjquLoPqIJWRgripx8m4RkufphXdShVRHXgndPloijBO"
    "mDwtqnEvek4P78+mbJq3ybp+eX51dnF+cheQ9Lsjh7cqkvd7+sL3n3c26E9JlI22/o1Cd4"
    "pI/qb/YEjzLjNNI6SUW8JrmSMj1uY3ltjegazlIjOB/dQ03cu1IExPjPTzrGU8kYD0UikW"
    "nkDfVIYjV0gUvJdDH0VTGhjHipGuagfS3wzZooOn+Ost2qcJ647fc+BM1lX0uK58BHIy/g"
    "URkN+g6gC/BSdvilWvSYzP54/+mB0H69abLwTZNQbIbL60gFMnv0o8KSg3Wk+EUZwsyYQz"
    "rPQzBkuVoY47JDXYd2sFdlZsJq+6nJRTT6vKlXC9ZPLRsZY0jRxXkeYimJ1SGYvG9qGUYY"
    "knNIB68WiWVJcYc1EN7fRNJYcidZAJgP/8Z9p3fT7X14B3z5v/H9oN/uDIedG17mkAmiFJ"
    "l/4/et7q0omkLLP/X+9dO8kDG0WKpOtU1lqVGR2pDUwsh/qO8d5nRZVp/4UOU5HTkOcfJM"
    "KaGAnkx2mEy8AGbeNT+SWB2QL3tKUEcu0iFOCVjUANvi8+2iC7FEeWqZyGc90qptzvnTom"
    "5JWQnyqRA+PNAzQL7p/3Z92wH3g067O+z63kE4C7iV8YDGoNO6VWHuIEhVq+QzQvlxsTqM"
    "7r3HlgWElKwc1UjPNigRsTogX7bNtqj4ksF0avALIkd8zEC5JyQzXprahz5XfOvoaRQ6Yw"
    "JprnGvFK7f6C8+jBoDLr+lTxGvA/J7T+GubEQNsZxEaX8y1ubLgnVAv2w2qbdm6q2Zh6CS"
    "orZmDjrD0aDbHmXtzYxEDKzZnPHbeuGBiP76vaHfW43gL/VERBk2xQJJBbLpKySDs3BjWn"
    "3+uJE+RsD9qsN/KHDQkjhMfBkLAr+7HwFFfMhB22tEgYUB4SIzh6yWgQCbI0DFqSG+UPIQ"
    "ktKuojyaZLFZURp+sEKfTFKZaeENyPiSl/74Tfm0iBN95GBo58RZEqsfAS1nV7RembWn2I"
    "JeLPSNJBYDqpN3qo7LaWeuKGcuwrde6MfV9nD1N5InFx+KVTpfx8d+5CkmzScZ+TnN5/0R"
    "b3xt44ukg/yCA3cm/M7ykJygfe2OfCmKRlb1dJ3XNsRlhzI5FDPi5DtgOyJTQ5CLzxJGby"
    "uBc3p+RBLb44LMxiuwxVIWLxGHGcQxkWK9WCqdiwvplZZKlvY6JGKAKIem7X/iRMUjpBaZ"
    "VMJx2xrhF1Nej03o4KAODiZNxOGTuu1863SUMz1rjbMqBivWOhtq7yTVnMSFdprxqhaALX"
    "prsY4BfhsxQL1h8NU2DM4hNu2dXrG4pN69U7UXrCLeQws51mTeUHgNfk2mtwA3bSrjI3wr"
    "DsIL5/F06r/DismXrpWsmpnfw2lO4qXKgbDfvIbonp6cbBNbPDlJDy6KOuXJIXkoS0REU5"
    "aclOVVJ7On/wNYcyJ2"
)
