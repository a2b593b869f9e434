from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "robots" (
    "id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "name" VARCHAR(128) NOT NULL,
    "roles" JSON NOT NULL,
    "enabled" INT NOT NULL,
    "online" INT,
    "last_callback_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS "robot_status_events" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "received_at" TIMESTAMP NOT NULL,
    "online" INT,
    "payload" JSON NOT NULL,
    "robot_id" VARCHAR(64) NOT NULL REFERENCES "robots" ("id") ON DELETE CASCADE
) /* A raw online or offline callback (its body is undocumented, so all of it is kept). */;
CREATE INDEX IF NOT EXISTS "idx_robot_statu_receive_28f801" ON "robot_status_events" ("received_at");
CREATE TABLE IF NOT EXISTS "conversations" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "room_type" SMALLINT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "last_message_at" TIMESTAMP,
    CONSTRAINT "uid_conversatio_kind_822665" UNIQUE ("kind", "key")
);
CREATE TABLE IF NOT EXISTS "conversation_aliases" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "created_by" VARCHAR(128) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "conversation_id" BIGINT NOT NULL REFERENCES "conversations" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_conversatio_kind_6e388e" UNIQUE ("kind", "key")
) /* An admin-made mapping: callbacks keyed `key` belong to `conversation` (e.g. after a rename). */;
CREATE TABLE IF NOT EXISTS "conversation_names" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "first_seen_at" TIMESTAMP NOT NULL,
    "conversation_id" BIGINT NOT NULL REFERENCES "conversations" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_conversatio_convers_446a19" UNIQUE ("conversation_id", "name")
) /* Every name a conversation has been seen under (rename history). */;
CREATE TABLE IF NOT EXISTS "people" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(128) NOT NULL UNIQUE,
    "aliases" JSON NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "skills" JSON NOT NULL,
    "shift" JSON NOT NULL,
    "phone" VARCHAR(32),
    "wecom_userid" VARCHAR(64),
    "max_open_tasks" INT NOT NULL,
    "active" INT NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS "inbound_messages" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "sender_name" VARCHAR(255) NOT NULL,
    "text" TEXT NOT NULL,
    "raw_text" TEXT NOT NULL,
    "text_type" INT NOT NULL,
    "room_type" SMALLINT NOT NULL,
    "at_me" INT NOT NULL,
    "content_hash" VARCHAR(32) NOT NULL,
    "received_at" TIMESTAMP NOT NULL,
    "payload" JSON NOT NULL,
    "file_base64" TEXT,
    "state" VARCHAR(16) NOT NULL /* PENDING: pending\nPROCESSED: processed\nFAILED: failed */,
    "attempts" INT NOT NULL,
    "processed_at" TIMESTAMP,
    "error" TEXT,
    "sender_role" VARCHAR(16),
    "type" VARCHAR(64),
    "type_confidence" REAL,
    "type_reason" TEXT,
    "type_source" VARCHAR(16),
    "is_staff_intervention" INT,
    "intervention_case" VARCHAR(32),
    "intervention_reason" TEXT,
    "rules_version" VARCHAR(64),
    "conversation_id" BIGINT NOT NULL REFERENCES "conversations" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_inbound_mes_convers_e72811" ON "inbound_messages" ("conversation_id", "state", "id");
CREATE INDEX IF NOT EXISTS "idx_inbound_mes_content_fa5a6a" ON "inbound_messages" ("content_hash", "received_at");
CREATE TABLE IF NOT EXISTS "message_sightings" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "robot_id" VARCHAR(64) NOT NULL,
    "external_id" VARCHAR(128),
    "at_me" INT NOT NULL,
    "received_at" TIMESTAMP NOT NULL,
    "message_id" BIGINT NOT NULL REFERENCES "inbound_messages" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_message_sig_message_c6c9fc" UNIQUE ("message_id", "robot_id"),
    CONSTRAINT "uid_message_sig_robot_i_f0f585" UNIQUE ("robot_id", "external_id")
) /* One robot's report of a message; several robots in one group report the same message. */;
CREATE INDEX IF NOT EXISTS "idx_message_sig_externa_071a8c" ON "message_sightings" ("external_id");
CREATE TABLE IF NOT EXISTS "message_types" (
    "code" VARCHAR(64) NOT NULL PRIMARY KEY,
    "name" VARCHAR(64) NOT NULL,
    "category" VARCHAR(16) NOT NULL,
    "description" TEXT NOT NULL,
    "sort_order" INT NOT NULL
);
CREATE TABLE IF NOT EXISTS "result_callbacks" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "robot_id" VARCHAR(64) NOT NULL,
    "message_id" VARCHAR(64) NOT NULL,
    "error_code" INT,
    "received_at" TIMESTAMP NOT NULL,
    "payload" JSON NOT NULL,
    "handled_at" TIMESTAMP
);
CREATE INDEX IF NOT EXISTS "idx_result_call_robot_i_ab25f0" ON "result_callbacks" ("robot_id");
CREATE INDEX IF NOT EXISTS "idx_result_call_message_fcc5c1" ON "result_callbacks" ("message_id");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXW1z2rgW/isavtzsTDeTkDTJdnfuDCG0y24CGWBfZrsdV2ABnhiJtURTZm/++5WMbW"
    "xZdjCxHePqSxuOdGT7OfLReZP8b2NBTGTT4wEZE9Z4B/5tYLhA/I9owxvQgMvlliwIDI5t"
    "t6cjurgkOKbMgRMx0BTaFHGSiejEsZbMIphT8cq2BZFMeEcLz7akFbb+WSGDkRlic+Twho"
    "+fONnCJvqKqP9z+WBMLWSbkTu1THFtl26w9dKltefQee/2FJcbGxNirxZ423u5ZnOCg+78"
    "bgR1hjByIENm6AHE/XlP6pM298oJzFmh4CbNLcFEU7iyWeiBx8aW1jCMXn9kDDsjw2hkgG"
    "hCsIDXwoy6z7+AXw0b4Rmb858X50+b62xx2PQSF/y9NWj/3BocXZx/Jy5IuIw2out5LU23"
    "6ckdAjK4GcRFfQuz+38GoP3++UDtE7ZYb2dY6WCfNq92QJv3SoTbbRN4b/F1iI1oHOBfhv"
    "2eGuCAQULYtCYM/A/YFmVFId34abrCEwEiGK8sm1mYHovr/bdREP4pcAuAxMgLSv+xwygf"
    "3bX+lAXQvu1fu5ARymaOO4o7wLUkDIQFPArFck046hCrJRLikmQy5mxFCcNXOuXCft3v30"
    "Zgv+6OJLB/u7vu8NfAlQHvZDGX3O2NJLAJti2s0C2pWG+Z9oPaQ60qCqYcpG1ImTGBtj2G"
    "kwcDsjjmNxwxZi2QGnQVv6x9vAGO/T9qJYtR964zHLXu7iMCuWmNOqKl6VLXEvXoQtJCwS"
    "Dgj+7oZyB+gr/6vY6smIJ+o78a4p7gihEDk0cDmmFMfLJPikh84iCB+x6yjnLmIOXKren8"
    "Ac0+ttfeDDwQsXsvS6rUV0tzT6lHObXUqyJ1xcvu3r3wiqYPIYNdEIR2foSOaURattODMs"
    "hW1EBfEGYKk/PaY3//6wDZ0AU4PhfC/uHQHa8jhjvAGfHkvwM+NYwtaZIkcONNi+ZCpkAM"
    "Z+4jiWuLKyXhluR7S9g+44YbMdE+65M3WsCBj2BjTwHiADKdun/66zw4shgFY2KugUXBCn"
    "NEVws+PDLfAEoA78VZgMVE6wNasu+OGxLuBV0i55jBtTXrYpYhamDFp7unnKsbNJiJW/j+"
    "h2bz7OyyeXJ2cfX2/PLy7dXJFe/r3m+86TLNNu1+EFZmROP5ZmdyKMFBE2R92Wt9kljLWa"
    "DKlNDhrkdxM0Q7dmU5dku4tglUKLXk8FGIpfwA0usAXkioaLPuZgtCh3lqGB/NJxgdM20l"
    "zOOAvycOsmb4V7R2Ye/yW4R4otIlcnbjwOBOMlk5mRtagb0TmWf86fkzo40GabeG7dZNp/"
    "GU7C4Uaf22Cf6CHAq9545ZvpH2VKt3EupZQA7qY+OBi1iM+4DWjU/avDwE89IX2a7a2O9f"
    "Q018erFLokq2EUN5qgs5TSXegyzYbrrXENrm27c7YMt7JYLrtkXR1UnWYvF1CFlsUIqBPF"
    "xA207U0BHG5xV1XmifFKuoz5qXF4FqFj/SlPHwrnV7G3c9dIbhOTOtFr68m/pbIEq5Rbdv"
    "5jDKrhOHVZP3XskEaFuQqipXsqQRwgZ/Swx4uG97PI8gL/A5YtWDh6wY06HytMUL0eriMV"
    "lh824zWJ2wKstB37yPz3jpwUu7m6tuhLTGDhkqDKC5sPD3C2gisOCX4IC9C7JHIie0Rib4"
    "zP/7DMbIJngGGAGfw1f8DI7Q8ewYwClDDoDAQeJpVLmqgi+moww6ylAzV01HGQ7LC/Ydr3"
    "EmkKNcNcS6kLJu7R4/Z9kcrLsUEXPYuMm6MCuYywsx1WKhTskVTqRc0gtThnJq6sBEsmvm"
    "UDElq5pA7G0Eneqe+H7yjt5J4KU/75t0ONcaCAZu54cHAXNIuX+AMKDiH+6DclfgaOMJgL"
    "lFGXHWCvcjh/GUHob8GrhgaVejMhoszdXQWaFi7eGp5VBmiNdqDzMtxqwtNW2pHZqAtaVW"
    "OZHUxFK75/emLvLyWlKtsiUiSxvtZIllquvSdk9V9EF17Z4Kne5QSGQqMXGbXDMeYtGHDk"
    "QMnnwqye1M093vX0MzP/+MAn2wbDvTZN9y6Lme+1ync2uqcLVSpOEzVEMY4rK1EcaSA5pJ"
    "8wQMe6meilVtRTXPWXMHzXPWTNQ8oimK7iOakIWxosjJtklI5qsf1nkdWhVyLfjwZIk4Sp"
    "A+KLR9ouEeZyzPr28WXOXbPD2/PL86uzgPjPeAkmazx0t9uftlfcm6n3PLpM9E2n1Dpz7B"
    "I3lWf7MneBQZp5HqJBXxmnglZXLcxtr0NcI1nIVGcD6q4mDiMAz3RvlP3t/twxBmxhzSua"
    "CHTxP4pINAlQwCUSQynUbWWJDEVkMfuZBUGENfFSvOiFPVMPv9a4Fv2krS+XOU7ncFC8lt"
    "v/fB7y47Y1LABz4aWQEP82jQ9wBdgJewBTBRo0d4ynMMTotV7Ln5BXpXZe67KqHYLZfV0/"
    "J5SnS0AsrBelqyTbhzObTEVwtlXHQs7NBO/qrMSlhtRzZeZaMPpHq1aP7UspExhhRdnGcx"
    "LCW2OkSbyzYtg3hDfA3p4NUiVrcUdVh95vIWksaSO8kCwGz4N+47vZtu78M74PH/je8H/X"
    "ZnOOzccJpDJohSZP6N37e6t4I0hZZ3LP7r54EhY2ixVB17m2ilhllqY6TmZvwH8t5jTZd5"
    "9ZEQVV7TkeMQJ8uSEjDoxWSPxWQTwMxaFCSx1QH5opcEdeQiGeKEgEUNsM0/IS+GEDXMU8"
    "tEntUjlXVzmz8p6hbnlSCfCubDAz0F5Jv+b9e3HXA/6LS7w67nHQSrgNsYDWgMOq1bFeYO"
    "glRVRp8Syo+y1WF2lx5bFhBSsnJUMz1doYTY6oB80TrbouJTB9OpwS+IHPG1A+WmkdR4ae"
    "IY+uDxnaOnYeiMCaSZ5r2SuX6zP/8wagS47Jo+gb0OyJeewl3ZiBqi8ESpf1KK92XGOqBf"
    "tDWp927qvZuHIJK89m4OOsPRoNsepW3eDEUMrNmc8dt64YmJXoHf0ButRvAXemSiDJuigl"
    "KBbHIJpX9YbkSqz59H0scIuJ99+A8FDloSh4lPZ0HgDfcjoIhPOWhvOlFgYUA4y8whq6XP"
    "wOYIUHGsiMcUP6WksKsozy5ZbEtOgy9auPWc4e9bcGsHORjabmOsOjTWqis9K1fpqb+kU4"
    "IJFX4RMuAssdXPWC1mi7Wu4iopDqELi76RJKRvFmVdqqN82vHLy/EL2WYv9Plqe1L7G8nr"
    "i07FKh3W42E/2ggmyX8ZefnP532XzfzaxW9JBvkFp/dM+J1lMXL8/rU7PyYvM7KqR/W8ti"
    "IuOuzJoZgRJ9tp3SGeGoKcf0YxfFsxnJNzKRJbicWbjVewFgspdCIOM4hjIkVtWaI5F2XS"
    "VZlKK+11jIgBohyatve9FJUdIfVINSUct68RfH7l9awJHRzUwcG4ijh8o2433zoZ5VTPWu"
    "OsisGKumhD7Z0kqpMo014rXtUCsHlvQ9YxwG8jBqg3F77a5sI5xKa91ysW5dQ7far2glXE"
    "e2ghx5rMGwqvwWtJ9Rbgtk9lfIRvxUF44TqebPrvUV350rrKqqn5Ek5+Ei9VBoS97jVE9/"
    "TkZJfY4slJcnBRtClPGclisoRYtMmS0WR51cXs6f+Cxz0L"
)
