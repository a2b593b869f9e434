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
COMMENT ON TABLE "robot_status_events" IS 'A raw online/offline callback (its body is undocumented, so all of it is kept).';
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
CREATE INDEX IF NOT EXISTS "idx_inbound_mes_convers_e72811" ON "inbound_messages" ("conversation_id", "state", "id");
CREATE INDEX IF NOT EXISTS "idx_inbound_mes_content_fa5a6a" ON "inbound_messages" ("content_hash", "received_at");
COMMENT ON COLUMN "inbound_messages"."state" IS 'PENDING: pending\nPROCESSED: processed\nFAILED: failed';
CREATE TABLE IF NOT EXISTS "message_sightings" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "robot_id" VARCHAR(64) NOT NULL,
    "external_id" VARCHAR(128),
    "at_me" BOOL NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL,
    "message_id" BIGINT NOT NULL REFERENCES "inbound_messages" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_message_sig_message_c6c9fc" UNIQUE ("message_id", "robot_id"),
    CONSTRAINT "uid_message_sig_robot_i_f0f585" UNIQUE ("robot_id", "external_id")
);
CREATE INDEX IF NOT EXISTS "idx_message_sig_externa_071a8c" ON "message_sightings" ("external_id");
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
    "eJztXW1z4rYW/isavtx0ZpubkGyS7u3cGULYLW0CGaC3nW53vAIL8MRI1BKbZdr89ysZ29"
    "iy7GBiO8arL5vlSEe2nyMfnTfJfzcWxEQ2PR6QMWGNd+DvBoYLxP8TbXgDGnC53JIFgcGx"
    "7fZ0RBeXBMeUOXAiBppCmyJOMhGdONaSWQRzKl7ZtiCSCe9o4dmWtMLWXytkMDJDbI4c3v"
    "DxEydb2ERfEfV/Lh+MqYVsM3Knlimu7dINtl66tPYcOu/dnuJyY2NC7NUCb3sv12xOcNCd"
    "342gzhBGDmTIDD2AuD/vSX3S5l45gTkrFNykuSWYaApXNgs98NjY0hqG0euPjGFnZBiNDB"
    "BNCBbwWphR9/kX8KthIzxjc/7z4vxpc50tDpte4oL/aw3aP7UGRxfn34kLEi6jjeh6XkvT"
    "bXpyh4AMbgZxUd/C7P7NALTfPx+ofcIW6+0MKx3s0+bVDmjzXolwu20C7y2+DrERjQP887"
    "DfUwMcMEgIm9aEgX+AbVFWFNKNH6crPBEggvHKspmF6bG43n8bBeGfArcASIy8oPQvO4zy"
    "0V3rd1kA7dv+tQsZoWzmuKO4A1xLwkBYwKNQLNeEow6xWiIhLkkmY85WlDB8pVMu7Nf9/m"
    "0E9uvuSAL717vrDn8NXBnwThZzyd3eSAKbYNvCCt2SivWWaT+oPdSqomDKQdqGlBkTaNtj"
    "OHkwIItjfsMRY9YCqUFX8cvaxxvg2P9PrWQx6t51hqPW3X1EIDetUUe0NF3qWqIeXUhaKB"
    "gE/NYd/QTET/BHv9eRFVPQb/RHQ9wTXDFiYPJoQDOMiU/2SRGJTxwkcN9D1lHOHKRcuTWd"
    "P6DZx/bam4EHInbvZUmV+mpp7in1KKeWelWkrnjZ3bsXXtH0IWSwC4LQzo/QMY1Iy3Z6UA"
    "bZihroC8JMYXJee+zvfxkgG7oAx+dC2D8cuuN1xHAHOCOe/HfAp4axJU2SBG68adFcyBSI"
    "4cx9JHFtcaUk3JJ8bwnbZ9xwIybaZ33yRgs48BFs7Kl/k+lU/AX+Ig+OLEbBmJhrYFGwwh"
    "zO1YKPjcw3gBLAewEyBRYTrQ9oyb47bkigFzF+ztGCa2vWxSxDvMCKT3RPLVc3XDATt/D9"
    "D83m2dll8+Ts4urt+eXl26uTK97Xvd9402WaVdr9IOzLiK7zDc7kIIKDJsj6stfKJLGWsz"
    "SVKaHDXYniBoh26cpy6ZZwbROoUGrJgaMQS/mho9cBvJAg0WbFzRZ+DvPUMDKaTxg6ZtRK"
    "mMcBf08cZM3wL2jtwt7ltwjxRKVL5LzGgcGdZKxyMreyAnsnMs/40/NnRhsN0m4N262bTu"
    "Mp2VEo0u5tE/wFORR6zx2zeSPtqfbuJNSzgOzTx8YDF7EY9wGtG5+0eXkI5qUvsl21sd+/"
    "hpr49GKXFJVsI4YyVBdygkq8B1mw3XSvIbTNt293wJb3SgTXbYuiq9OrxeLrELLYoBQDeb"
    "iAtp2ooSOMzyvqvNA+KVZRnzUvLwLVLH6kKePhXev2Nu566NzCc2ZaLXx5N+m3QJRyi27f"
    "nGGUXacMqybvvdII0LYgVdWsZEkghA3+lhjwcN/2eAZBXuBzxKoHD1kxpkPlaYsXotXFY7"
    "LC5t1msDphVZaDvnkfn/HSg5d2N1fdCGmNHXJTGEBzYeHvF9BEYMEvwQF7F2SPRE5ojUzw"
    "mf/5DMbIJngGGAGfw1f8DI7Q8ewYwClDDoDAQeJpVImqgi+moww6ylAzV01HGQ7LC/Ydr3"
    "EmkKNcNcS6kIJu7R4/Z9kcrLsUEXPYuMm6MCuYywsx1WKhTskVTqRc0gtThnJq6sBEsmvm"
    "UDElq5pA7G0Eneqe+H7yjt5J4KU/75t0ONcaCAZu54cHAXNIuX+AMKDiH+6DclfgaOMJgL"
    "lFGXHWCvcjh/GUHob8GrhgaVejMhoszdXQWaFi7eGp5VBmiNdqDzMtxqwtNW2pHZqAtaVW"
    "OZHUxFK75/emLvLyWlKtsiUiSxvtZIllquvSdk9V9EF17Z4KnetQSGQqMXGbXDMeYtHHDU"
    "QMnnwqye1M093vX0MzP/+MAn2wbDvTZN9y6Lme+1ync2uqcLVSpOEzVEMY4rK1EcaSA5pJ"
    "8wQMe6meilVtRTXPWXMHzXPWTNQ8oimK7iOakIWxosjJtklI5qsf1nkdVxVyLfjwZIk4Sp"
    "A+KLR9ouEeZyzPr28WXOXbPD2/PL86uzgPjPeAkmazx0t9uftlfcm6n3PLpE9D2n1Dpz67"
    "I3lWf7NndxQZp5HqJBXxmnglZXLcxtr0NcI1nIVGcD6q4mDiGAz3RvlP3t/twxBmxhzSua"
    "CHTxP4pINAlQwCUSQynUbWWJDEVkMfuZBUGENfFSvOiFPVMPv9a4Fv2krS+X2U7ncFC8lt"
    "v/fB7y47Y1LABz4aWQEP82jQ9wBdgJewBTBRo0d4ynMMTotV7Ln5BXpXZe67KqHYLZfV0/"
    "J5SnS0AsrBelqyTbhzObTEVwtlXHQs7NBO/qrMSlhtRzZeZaMPpHq1aP7UspExhhRdnGcx"
    "LCW2OkSbyzYtg3hDfA3p4NUiVrcUdVh95vIWksaSO8kCwGz4N+47vZtu78M74PH/ie8H/X"
    "ZnOOzccJpDJohSZP6J37e6t4I0hZZ3IP7r54EhY2ixVB14m2ilhllqY6TmZvwH8t5jTZd5"
    "9ZEQVV7TkeMQJ8uSEjDoxWSPxWQTwMxaFCSx1QH5opcEdeQiGeKEgEUNsM0/IS+GEDXMU8"
    "tEntUjlXVzmz8p6hbnlSCfCubDAz0F5Jv+r9e3HXA/6LS7w67nHQSrgNsYDWgMOq1bFeYO"
    "glRVRp8Syo+y1WF2lx5bFhBSsnJUMz1doYTY6oB80TrbouIjB9OpwS+IHPGdA+WmkdR4ae"
    "IY+uDxnaOnYeiMCaSZ5r2SuX6zP/8wagS47Jo+gb0OyJeewl3ZiBqi8ESpf1KK92XGOqBf"
    "tDWp927qvZuHIJK89m4OOsPRoNsepW3eDEUMrNmc8dt64YmJXoHf0ButRvAXemSiDJuigl"
    "KBbHIJpX9YbkSqz59H0scIuJ99+BcFDloSh4lPZ0HgDfcfQBGfctDedKLAwoBwlplDVkuf"
    "gc0RoOJYEY8pfkpJYVdRnl2y2JacBl+0cOs5w9+34NYOcjC03cZYdWisVVd6Vq7SU39Jpw"
    "QTKvwiZMBZYqufsVrMFmtdxVVSHEIXFn0jSUjfLMq6VEf5tOOXl+MXss1e6PPV9qT2N5LX"
    "F52KVTqsx8N+tBFMkv8y8vKfz/sum/m1i9+SDPILTu+Z8DvLYuT4/Wt3fkxeZmRVj+p5bU"
    "VcdNiTQzEjTrbTukM8NQQ5/4xi+LZiOCfnUiS2Eos3G69gLRZS6EQcZhDHRIraskRzLsqk"
    "qzKVVtrrGBEDRDk0be97KSo7QuqRako4bl8j+PzK61kTOjiog4NxFXH4Rt1uvnUyyqmetc"
    "ZZFYMVddGG2jtJVCdRpr1WvKoFYPPehqxjgN9GDFBvLny1zYVziE17r1csyql3+lTtBauI"
    "99BCjjWZNxReg9eS6i3AbZ/K+AjfioPwwnU82fTfo7rypXWVVVPzJZz8JF6qDAh73WuI7u"
    "nJyS6xxZOT5OCiaFOeMpLFZAmxaJMlo8nyqovZ0/8BCKE7Jw=="
)
