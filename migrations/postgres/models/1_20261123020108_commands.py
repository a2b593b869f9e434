from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "commands" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "idempotency_key" VARCHAR(255) NOT NULL UNIQUE,
    "reply_key" VARCHAR(255) NOT NULL,
    "part" SMALLINT NOT NULL,
    "parts" SMALLINT NOT NULL,
    "robot_id" VARCHAR(64) NOT NULL,
    "conversation_id" BIGINT,
    "purpose" VARCHAR(32) NOT NULL,
    "requested_by" VARCHAR(128) NOT NULL,
    "type" INT NOT NULL,
    "target" VARCHAR(255) NOT NULL,
    "content" TEXT NOT NULL,
    "at_list" JSONB NOT NULL,
    "extra" JSONB NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "next_attempt_at" TIMESTAMPTZ,
    "send_attempts" SMALLINT NOT NULL,
    "sent_at" TIMESTAMPTZ,
    "result_due_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "worktool_message_id" VARCHAR(64),
    "batch_index" SMALLINT,
    "error_code" INT,
    "error_reason" TEXT,
    "time_cost_s" DOUBLE PRECISION,
    "success_list" JSONB,
    "fail_list" JSONB,
    "result_source" VARCHAR(16),
    "late" BOOL NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_commands_robot_i_9a86c4" ON "commands" ("robot_id", "status", "id");
CREATE INDEX IF NOT EXISTS "idx_commands_robot_i_1b532f" ON "commands" ("robot_id", "sent_at");
CREATE INDEX IF NOT EXISTS "idx_commands_status_85c243" ON "commands" ("status", "result_due_at");
CREATE INDEX IF NOT EXISTS "idx_commands_worktoo_f7d640" ON "commands" ("worktool_message_id");
CREATE INDEX IF NOT EXISTS "idx_commands_convers_8eaa96" ON "commands" ("conversation_id", "created_at");
COMMENT ON COLUMN "commands"."status" IS 'QUEUED: queued\nSENT: sent\nSUCCEEDED: succeeded\nFAILED: failed\nUNKNOWN: unknown';
        CREATE TABLE IF NOT EXISTS "conversation_robots" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "robot_id" VARCHAR(64) NOT NULL,
    "first_seen_at" TIMESTAMPTZ NOT NULL,
    "conversation_id" BIGINT NOT NULL REFERENCES "conversations" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_conversatio_convers_304f65" UNIQUE ("conversation_id", "robot_id")
);
COMMENT ON TABLE "conversation_robots" IS 'A robot has seen this conversation (it reported a message of it), so it can send into it.';
        ALTER TABLE "robots" ADD "last_unknown_at" TIMESTAMPTZ;
        ALTER TABLE "robots" ADD "online_checked_at" TIMESTAMPTZ;
        ALTER TABLE "robots" ADD "unknown_results" INT NOT NULL DEFAULT 0;
        ALTER TABLE "robots" ADD "online_changed_at" TIMESTAMPTZ;
        ALTER TABLE "robot_status_events" ADD "source" VARCHAR(16) NOT NULL DEFAULT 'callback';
        ALTER TABLE "result_callbacks" ADD "command_id" BIGINT;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "robots" DROP COLUMN "last_unknown_at";
        ALTER TABLE "robots" DROP COLUMN "online_checked_at";
        ALTER TABLE "robots" DROP COLUMN "unknown_results";
        ALTER TABLE "robots" DROP COLUMN "online_changed_at";
        ALTER TABLE "robot_status_events" DROP COLUMN "source";
        ALTER TABLE "result_callbacks" DROP COLUMN "command_id";
        DROP TABLE IF EXISTS "conversation_robots";
        DROP TABLE IF EXISTS "commands";"""


MODELS_STATE = (
    "eJztXVtv2zgW/iuCXzYFMkHqpEknWCzgOO6Mt4nTjd2dwbQDlZZoW4hMekSqqTHb/76kbt"
    "aFUixHkmWWT21IHlL+DnV4bjz6u7PEJrTJyQOeYtq50v7uILCE7D/JjmOtA1arTTNvoGBq"
    "eyMdPsRrAlNCHWDwiWbAJpA1mZAYjrWiFkasFbm2zRuxwQZaaL5pcpH1lwt1iueQLqDDOj"
    "79yZotZMJvkIR/rh71mQVtM/GklsnX9tp1ul55bf0FcN55I/lyU93AtrtEm9GrNV1gFA1n"
    "T8Nb5xBBB1Boxn4Af77gl4ZN/rOyBuq4MHpIc9NgwhlwbRr7wVN909bR9dH9RB8PJrreKQ"
    "GRgRGH10KUeL9/Cb7pNkRzumB/Xpx/99fZ4OCP4gv+t/fQ/7X3cHRx/ooviBmPfNaNgp6u"
    "1/XdmwJQ4E/iob6B2fu3BNDh+GqgDhs2WG92WONgv+6+3QJtNioXbq+P473B18E2JFmA/z"
    "2+H4kBjghSCJuWQbX/abZFaF1Id/45c5HBQdSmrmVTC5ETvt6/OjXhXwA3B4jPvCTkLzuO"
    "8tFd7/c0A/q399ceZJjQuePN4k1wnWIGRBwegWC5xgx1gMQciVGleDJlZHUxIxQ6zcJ+fX"
    "9/m4D9ejhJgf3x7nrAXgOPB2yQRb3m4WiSAhsj20IC2VKI9YZoN6gD1NoiYJpB2gaE6gaw"
    "7SkwHnVAs5jfMMSotYRi0EX0aekTTHAS/kcqXkyGd4PxpHf3IcGQm95kwHu6Xus61Xp0kZ"
    "JC0STab8PJrxr/U/vjfjRIC6Zo3OSPDn8m4FKsI/ykAzOOSdgcNgneLd1YADSH5g4sF06g"
    "eH4QPIfG48t4Hp9A8bzNPHfRI+tCOpuSYSTQI4eIipktoEyxmuFVl+5yWpe+PudP8FP39f"
    "nl+duzi/O3bIj3lFHLZQH3cw7OEKkdz80kuXqd2vw6GQ7kuO/A6iRlBVxunSnMfqB5j+x1"
    "sAMPhO3By1IsRFfmjlxPUiqut4Xrgpfde3ruTJw9xvxcvIEbNU/AMfVEz2Z7EAqoS3T4FS"
    "LRCXsdkL97/wBt4AGc3Qtxt+rYm2/ApzvAHfE9fAfC1ji2uIvzwM12LbvLdAtAYO79JL42"
    "XykPtzyXdQrbZ7zXeoa1z7qyOz3Nt4k0PNOA5k3zD6L5qrPG54NXvB08af7kWmg3a0cWJd"
    "oUm2vNIpqLGNTukq0LzWONYI2NYlN2UjyoebnPyKK8+xGu6CsNO2yqYDkCIdKma22FbbbU"
    "3F95iGY4WPukc1y59/7amueqq0L/vUBDDeR9e933vob6c7d7dnbZPT27ePvm/PLyzdvTSF"
    "XNdhXprNfDX7jamhCioR6b79R3oAGtrzsdeSnSZs68Jjl0uEdcnktAuVjrd7GuwNrGQCDU"
    "8gM5MZLmQzn7AbyWoA3BrmOUilFuKJqLUnbCg7muWFkqVnmxTagyLZtikcqLbKCSa0zlou"
    "5xGgkDwtVE3zNGSQrzLODvsAOtOXoP1x7sQ/aIAAk3dDqd48DgzjM2WDNTeSO1MrHP2K9n"
    "vxn6grrfG/d7N4PO93xDr067pY/RV+gQEPzujM2S6C+0V4zYyBqSbj51HhmL+byPcN35U2"
    "nxh6DFhyzbVhqH4yWUxNUfd/w9KIOtP1xCaLtv3myBLRuVC67Xl0RXZZXVi6+D8dJHKQPy"
    "eMkU0VwJnSCUJiB41r28iEQz/6NIGI/vere3WQtPxYaeU9OkcJl4MdslJIRpdLuGfJPkKu"
    "TbNn7vFAYCtgWIKFW3TAAorvD3+ISH+7ZnI0DpA75CrEbgkAVjMVSbixTVYCWbsZ8AKxCt"
    "L4RriKbYReadP5lMWDXlzfCF1zMujUjCbefX0GMidotALNKAubTQT0tgQm3JlmCAXUXxTx"
    "7UXENT+8L++aJNoY3RXKNY+xJf8Yt2BE/mJxqYUciDnw7kv+bVSTYMW/NiyiWjXDKS2bXK"
    "JXNYLoPQSp2WAjlJJSHWtVz6U76E5zSbg7UtE2yOKzdlD2YBcXP+OCkO6oLAqpEKvL0wvp"
    "qO4x0YS7YNswq2ZFujrSOf0YXmSehU2NI6iVwaz9smA0a11jgBz6iMTaItAGH2AUR+giWz"
    "QZkpcORbAtrCIhQ7a4H5UcF8Qgsj/Rp4YClTozUSrMjUUCG0evXhmeUQqvPXagc1LUOsND"
    "WlqR0ag5Wm1jqWSKip5dagEsY0ttTVShSn6vT8yy2eKuVpUZQpTkkt68iimgNX2GEbhWlg"
    "QRCC38mx6CvvPg0bYACuhSFTY2zhDQIvcp0rbaXgRYmSSslrjfArUvJU0nVtJc+Upqc0Pa"
    "XpKU2vpSyRRNP7wJ5NfPch6CnU6VYQr2y4lRpX6rqDUn7aIg+KlJ/9erhaVOW1lhhkbj5j"
    "/o3VGIkqPppQeKq4x8oLu5bT821ZHbrV546QR8u2S232DYXa65XvdbKwZgJTq4AbIUE7mM"
    "GXlYYZKwZoKckTEewkelp2mSEpec66W0ies26u5OFdSXSfoIGXukugU86Nk6aTD+vqPTl8"
    "eryCDCVAHstUw8wSNmfXdw+lGiYzv6yvZavJbIhUbfTty8mokoT5u/qHLUlYp58mdSNG4K"
    "/J3pnJ99tY/lg9flunVg/OJ69Ko/dUAodYGO9SPp7W+XhUgKsBtQh+o9BBwC6Jc4pMPgW0"
    "Fr8aD8xDRy/rvEyRSbiva8nSo2yTZmGesFYxzOF4KfAtUn0Gv0+KHQWR5nN7P/olHJ72Hq"
    "Q8lOBJLwt4nEaBvgPoHLycUi65OkqCpjlL9nW9qkplhqyqjlN5dRzAq56UdQ2ENA16BqKW"
    "g3UNsEUpRFRfALIoo2Ck6aQQxnU7bw+tUHZrTsJ2e16yaWGqfvPewk8zy4b6FBB4cV5GsU"
    "yRyWCdNq1aRj6z7BkyQO4yk2iXNFhD4gZraK+YkcwBLId/58NgdDMc/XKlBfSf0YeH+/5g"
    "PB7csDYHG5AQaH5G73rDW940A1bwPdf9Jy4ASuFyVerTbnESaZTUypT/iN87nOlpWlXar8"
    "1nOnQc7JQ5UiICdZjscJj4DsyyWWwpMhmQr/tIEHsu8iHOcVhIgG31oRI+BU+6n1kmRKKv"
    "irxjOn+e1y1Lm4J8xokPD/QCkG/uP17fDrQPD4P+cDwMrIPoFPA6kw6Nh0HvVoS5AwER3f"
    "socOUnyWTY3Y37ljmE5b+fkyKTAfm6ZbZF+McGZzOdLQgd/r1B4S2nQn9p7hzqO11be0/j"
    "0OkGIKX2vZBYvt1fvRs1AVx5SZ9DLgPyjYdwXRsSnSdICeVPQdJNmlAG9OvWJtVlY3XZ+B"
    "BYUtVl44fBePIw7E+KbhvHPAbWfEHZY72wmHuQkToOZpMI/lqruadhE6T8CpDNz/kNP3qS"
    "4Oo2Zdwxz+mNPm3tF7/xP3fNyxdCMyqCc0Qg233A9scSzUIaRlCbO9hd8Xo6GgTGIhwtLO"
    "Je51LC+jvLTba0Kr3TvgPiWFOZySozuYVI13PjX+VoNeRlUGlDP0iIMVR6yh7VSTpl1lVl"
    "1sX0rRdadNJ+Iuo4ZdMlt2KbakcF2E98xuRZJ5Mguvm8ZeLvr22sknyQX1BMymBPVkbJCc"
    "dLV86oKjWyrZWj9i2I63ZqMijm2Cn3maAYjYQgVx8vjD9WBuf8SEmKrMHUzM4etMVa0piw"
    "Q3XsmFCQOZarziWJVM6lUEvbjxLxAAmDph98qFGkR6RGFKoSjjdWj777uD9tQjkHlXMwKy"
    "IOX6nbzrbOR7nQslY4i3ywPOtZF1snueIkSbTTidc2B2zVl4yVD/DH8AGqq4N7uzq4AMi0"
    "d3rFkpTqHk+bXzADL5l6b+6QQBWnk+iM2oePfT/WW99nYUdgtoVdx8UfhfIGNVGALq7e87"
    "uxrrcoz/c41lK9vAwDEzxex2ZoYFuabKGw8wk7jxRjW49ptV6HIBEr9mVoVeyunVajZcLl"
    "ClOIjLVe8mP2AlLp4gK1FAhz4MoujXaCSEJ/dS1Ir4AjUMOKCyqFNNLUqKqilhIHRZAT+z"
    "ySDd/4PwAo2+qnkysg2IZbDj+spp6QHK7DjK9y33LYkEi42euoCMZ+JuGK9rSkSpGkkyA0"
    "20DKqrjUQX7dS3Glg4NOqKvMIU2Bw8zXMnt2QyGhaKhFBw6KLGZBzk/ZiJFIIBOaTtcAVA"
    "995ds632Mk7fiYlFRf9mL73AFl2BERtIMZUn3Za+NczIr87Sr8uSKbsk7BxIa60CzJgM5/"
    "Pg4+8sp9PvVnNB6MJlcad7Sy/3/s9weDG95NXMOA0MzW+vuMPo7ej+5/G11pLnpE+MlLn9"
    "t/GmDMqZthYnGAK0mpQsitjnAhXq89KNu4A68F5Cqi2WZ+86J3en5lz2JPX4ZYmnzTKjx+"
    "YXCt5CsUI1OvTptfnWSUtCSXM8SK123m9cxCFlnspP6kSBWf28xnUZqD0GYR8zqHXL6qAN"
    "WHbqaAGgvd+3Fl1ZAUqURBmyrUEJVUXYsP20eofAXBNJ0MsqFpVys/JxmkhOoCk6WoLHKS"
    "TpVE3qIksueoIqS0bztN9yKf6uFAXs93aYBll2ZAgkihvzv6galWvjh1hlAGWV+3n9kWfg"
    "iosDJUSKIKQz1TGKolqfQ96FjGoiPIpA96josS6cFmTGuuO/8oWesv1J7z89F3KAP90gLQ"
    "bYsiNZATwl+qEggHwyVE9/Xp6Tbn1ulp/sHF+7bMuMnX0fIzbtTty+dUtL0eZt//DyZ5CX"
    "o="
)
