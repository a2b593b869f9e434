from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "alerts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "uid" VARCHAR(32) NOT NULL UNIQUE,
    "kind" VARCHAR(32) NOT NULL,
    "dedup_key" VARCHAR(255) NOT NULL,
    "open_key" VARCHAR(255) UNIQUE,
    "conversation_id" BIGINT,
    "subject" VARCHAR(128) NOT NULL,
    "title" VARCHAR(255) NOT NULL,
    "detail" TEXT NOT NULL,
    "level" SMALLINT NOT NULL,
    "max_level" SMALLINT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "occurrences" INT NOT NULL,
    "escalation_count" INT NOT NULL,
    "policy" JSONB NOT NULL,
    "opened_at" TIMESTAMPTZ NOT NULL,
    "last_fired_at" TIMESTAMPTZ NOT NULL,
    "escalated_at" TIMESTAMPTZ,
    "next_escalation_at" TIMESTAMPTZ,
    "step_token" INT NOT NULL,
    "source_message_id" BIGINT,
    "source_command_id" BIGINT,
    "cancel_reason" VARCHAR(32),
    "cancel_note" VARCHAR(255),
    "cancelled_by" VARCHAR(128),
    "cancelled_at" TIMESTAMPTZ,
    "claimed_by" VARCHAR(128),
    "claimed_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_alerts_dedup_k_630b06" ON "alerts" ("dedup_key");
CREATE INDEX IF NOT EXISTS "idx_alerts_status_3c1167" ON "alerts" ("status", "next_escalation_at");
CREATE INDEX IF NOT EXISTS "idx_alerts_convers_c31500" ON "alerts" ("conversation_id", "status");
CREATE INDEX IF NOT EXISTS "idx_alerts_kind_d05b1e" ON "alerts" ("kind", "opened_at");
CREATE INDEX IF NOT EXISTS "idx_alerts_opened__d138ff" ON "alerts" ("opened_at");
COMMENT ON COLUMN "alerts"."status" IS 'OPEN: open\nCANCELLED: cancelled';
COMMENT ON COLUMN "alerts"."cancel_reason" IS 'STAFF_INTERVENED: staff_intervened\nUSER_RESPONDED: user_responded\nRESOLVED: resolved\nMANUAL: manual\nEXPIRED: expired';
        CREATE TABLE IF NOT EXISTS "alert_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "alert_id" BIGINT NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    "action" VARCHAR(16) NOT NULL,
    "level" SMALLINT NOT NULL,
    "actor" VARCHAR(128) NOT NULL,
    "detail" TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_alert_event_alert_i_8b507c" ON "alert_events" ("alert_id");
COMMENT ON TABLE "alert_events" IS 'What happened to an alert, in order: opened, recurred, escalated, cancelled, claimed.';
        CREATE TABLE IF NOT EXISTS "alert_levels" (
    "level" SMALLSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(64) NOT NULL,
    "after_minutes" DOUBLE PRECISION NOT NULL,
    "channels" JSONB NOT NULL,
    "recipients" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "alert_levels" IS 'Seeded from the alerts rule file at start-up (what the API and dashboard show).';
        CREATE TABLE IF NOT EXISTS "notifications" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "alert_id" BIGINT NOT NULL,
    "level" SMALLINT NOT NULL,
    "channel" VARCHAR(32) NOT NULL,
    "recipient" VARCHAR(128) NOT NULL,
    "target" VARCHAR(160) NOT NULL,
    "origin_channel" VARCHAR(32),
    "status" VARCHAR(16) NOT NULL,
    "attempts" SMALLINT NOT NULL,
    "due_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "claimed_at" TIMESTAMPTZ,
    "sent_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "batch" VARCHAR(32),
    "provider" VARCHAR(16),
    "provider_id" VARCHAR(128),
    "command_id" BIGINT,
    "error" TEXT,
    CONSTRAINT "uid_notificatio_alert_i_e9337a" UNIQUE ("alert_id", "level", "channel", "recipient")
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_status_1ee529" ON "notifications" ("status", "due_at");
CREATE INDEX IF NOT EXISTS "idx_notificatio_channel_d51397" ON "notifications" ("channel", "target", "status", "due_at");
CREATE INDEX IF NOT EXISTS "idx_notificatio_command_da2e52" ON "notifications" ("command_id");
COMMENT ON COLUMN "notifications"."status" IS 'PENDING: pending\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nFAILED: failed\nUNKNOWN: unknown\nSKIPPED: skipped';
        CREATE TABLE IF NOT EXISTS "after_sales_tasks" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "uid" VARCHAR(32) NOT NULL UNIQUE,
    "open_key" VARCHAR(255) UNIQUE,
    "conversation_id" BIGINT,
    "user" VARCHAR(128) NOT NULL,
    "task_type" VARCHAR(32) NOT NULL,
    "skill" VARCHAR(32),
    "priority" VARCHAR(16) NOT NULL,
    "detail" TEXT NOT NULL,
    "messages" INT NOT NULL,
    "source_message_id" BIGINT,
    "status" VARCHAR(16) NOT NULL,
    "assignee" VARCHAR(128),
    "auto_assigned_by" VARCHAR(64),
    "assignment_reason" VARCHAR(255),
    "assigned_at" TIMESTAMPTZ,
    "reassignments" INT NOT NULL,
    "user_response_status" VARCHAR(16) NOT NULL,
    "user_response_time" TIMESTAMPTZ,
    "user_response_s" DOUBLE PRECISION,
    "user_cooperation_level" VARCHAR(16) NOT NULL,
    "staff_at_user_time" TIMESTAMPTZ,
    "staff_follow_up_time" TIMESTAMPTZ,
    "response_due_at" TIMESTAMPTZ,
    "response_token" INT NOT NULL,
    "reminded_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "completed_at" TIMESTAMPTZ,
    "cancelled_at" TIMESTAMPTZ,
    "closed_by" VARCHAR(128),
    "close_reason" VARCHAR(255)
);
CREATE INDEX IF NOT EXISTS "idx_after_sales_status_852dbd" ON "after_sales_tasks" ("status", "assignee");
CREATE INDEX IF NOT EXISTS "idx_after_sales_convers_c59de5" ON "after_sales_tasks" ("conversation_id", "status");
CREATE INDEX IF NOT EXISTS "idx_after_sales_respons_127de0" ON "after_sales_tasks" ("response_due_at");
CREATE INDEX IF NOT EXISTS "idx_after_sales_created_2d9a21" ON "after_sales_tasks" ("created_at");
COMMENT ON COLUMN "after_sales_tasks"."status" IS 'PENDING: pending\nASSIGNED: assigned\nWAITING_USER: waiting_user\nIN_PROGRESS: in_progress\nCOMPLETED: completed\nCANCELLED: cancelled';
COMMENT ON COLUMN "after_sales_tasks"."user_response_status" IS 'PENDING: pending\nRESPONDED: responded\nREFUSED: refused\nTIMEOUT: timeout';
COMMENT ON COLUMN "after_sales_tasks"."user_cooperation_level" IS 'HIGH: high\nMEDIUM: medium\nLOW: low\nUNKNOWN: unknown';
        CREATE TABLE IF NOT EXISTS "daily_reports" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "day" DATE NOT NULL UNIQUE,
    "data" JSONB NOT NULL,
    "markdown" TEXT NOT NULL,
    "html" TEXT NOT NULL,
    "generated_at" TIMESTAMPTZ NOT NULL,
    "delivered_at" TIMESTAMPTZ,
    "delivery_attempts" INT NOT NULL,
    "delivery_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ
);
COMMENT ON TABLE "daily_reports" IS 'One row per business day: the figures, their renderings, and whether managers got it.';
        CREATE TABLE IF NOT EXISTS "task_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "task_id" BIGINT NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    "action" VARCHAR(16) NOT NULL,
    "actor" VARCHAR(128) NOT NULL,
    "detail" TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_task_events_task_id_fb8338" ON "task_events" ("task_id");
COMMENT ON TABLE "task_events" IS 'What happened to a task: created, joined, assigned, reassigned, at_user, responded, reminded...';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "after_sales_tasks";
        DROP TABLE IF EXISTS "notifications";
        DROP TABLE IF EXISTS "task_events";
        DROP TABLE IF EXISTS "alert_levels";
        DROP TABLE IF EXISTS "alerts";
        DROP TABLE IF EXISTS "alert_events";
        DROP TABLE IF EXISTS "daily_reports";"""


MODELS_STATE = (
    "eJztXVtz2ziy/isovWxS5XElTsbJurZOlWwrGZ2xZR/LnkxtPMWBSUjiigK4vNjj2pP/vg"
    "Bv4gWkBZqUIRgviUyiQelrsNE3dP9nsCIWcvz9K3JHgsER+M8AwxWiH4o39sAAuu76MrsQ"
    "wDsnGumxIdEleOcHHjTZRDPo+IhespBverYb2ATTqzh0HHaRmHSgjefrSyG2/x0iIyBzFC"
    "yQR298/4NetrGF/kJ++qe7NGY2cqzCN7Ut9uzouhE8utG1kwX0vkQj2ePuDJM44QqvR7uP"
    "wYLgbDj9NuzqHGHkwQBZuR/Avl/yS9NL8XelFwIvRNmXtNYXLDSDoRPkfvCdsb42MIzJxb"
    "UxHV0bxkAAIpNgBq+NAz/6/Sv4l+EgPA8W9M/Djz/i56xxiEexB/42vDr5ZXj15vDjW/ZA"
    "QnkUs26S3DmIbv2IpoABjCeJUF/DHP0vAHQ6vhuo0wtrrNcrbOtgvz/4vAHadFQt3NE9hv"
    "caX484yK8C/L/Tiwkf4IyghLBlmwH4f+DYftAX0oN/zEJsMhDBXWg7gY39ffa8/xn0hH8D"
    "3AwgNvPK9//t5FF+cz78vcyAk7OL4wgy4gdzL5olmuC4xAyEGTwcwXJMKOoQ8zmSoyrx5I"
    "6S9cWMVOhsF/bji4uzAuzH4+sS2DfnxyP6GkQ8oIPsILo8nlyXwCbYsTFHtjRivSZqB3WC"
    "miwCZjtIO9APDBM6zh00lwYMqpifUsQCe4X4oPPoy9InmWA//aAUL67H56Pp9fD8ssCQ0+"
    "H1iN05iK4+lq6+OSxJoWwS8G18/Qtgf4J/XkxGZcGUjbv+54B9JxgGxMDkwYBWHpP0cnqJ"
    "824Z5gLiObJasJw7geb5TvAcmcvn8Tw/gea5zDwP8ZLewgadkmLE0SPHOOAzm0NZYjXFqy"
    "/d5V1f+vqcfYOfDt5//PTx84fDj5/pkOhbZlc+NXC/ZuNMkWq5bxbJ9esk8+tkeojh3oLV"
    "RcoOuCydKUx/oHWBncdkBe4I25OXpVmIulZLrhcpNddl4TrnZY++PXMmzpY5Pxe7wIyaB+"
    "hZRuHOenn4AQxC30D3CPN22OOE/MuvV8iBEcDVtZB3q06j+UZsuh1cET/SdyC9mseWHJA6"
    "cKu3Vger8hWI4Tz6SezZ7El1uNW5rEvYPuG9NiqsfdKVPRiC2CYCZAYgiKb5mw9i1Rmw+d"
    "ARuw4fQDw5SO1m8MYOfHBHrEdg+yDEFOpwRZ+LrD3gE0BH0SkHJR70/LhbbAfs9hK5wVtA"
    "PDpV8jgfIQzuHoFLHPqoefzkMZ6R5Nn7g73OvffH9rxWXeX67zkaaiLv5XXfxxrq3w8OPn"
    "z4dPDuw+Hnnz9++vTz53eZqlq91aSzHo+/MrW1IERTPbbeqe8hE9n3rba8Eul29rxtcmh3"
    "t7g6l4B2sfbvYnXho0MgR6jVB3JyJNsP5bwM4L0EbXwSeqZQjHJNsb0o5SDdmPuKlZVilY"
    "ebhCrLsikXqTysBiqZxiQWdc/TKBgQ7ib6XjFKSphXAf9CPGTP8a/oMYJ9TL8ixNwFXU7n"
    "2DG464wNepmqvJlaWVhn9NfT34xiQX0ynJ4MT0eDH/WGXp92ywnB98jzYfK7KzZL4X6jvW"
    "LmRvaQdPN9sKQsZvMu0ePgD63F74IWn7JsU2mcjldQEne/3bH3QATbeLiC0B78/PMG2NJR"
    "teBG94ro6qyyfvH1CFnFKFVAnq6oIloroQuEygQEPxx8OsxEM/ujSRhPz4dnZ1ULT8eGnl"
    "LTlHCZRDHbFfJ9qtG1DfkWyXXIV2Z+M8PBhaFP388QB7YjynAevea4zBxPuHUnpN8ViFpp"
    "IZJxtCclpFWEFTo29HlZ8CKx1bwtPWQT7u5GWg2ulnXnDrGawF3WOZqhWp9R6gYr1fxoBb"
    "ASreWZcI3xHQmxdR5PphJW23IUxsLrCW9hJuE2cxkaORG7QY4DBtBa2finFbQQWNFHUMCO"
    "stQCli/wiCzwJ/3vT3CHHILnICDgz/wT/wRv0P58H8BZgFhegYfYr3kb5Q0UMxx6fpj2dm"
    "pvp2IuI+3tlF8R5rmOxEyOIpWCWPdynla76Z7SbJQw4gvKjejGzCHenqtbiY26IWfBLMW0"
    "n5m6UA6R7xhLNs1g4CxJWRMZJjGjG82T1KmwoXWSuTSetk1GlOoRMAKWrJybBCygT+0DhO"
    "PcZWqDUlPgTWwJgIXtB8R75JgfHczHtTDKr0EEljY1pJFgTaaGjk73qw/PbM8PDPZatVDT"
    "KsRaU9Oa2q4xWGtq0rFEQU2ttrwbN6axoa4mUPdtMIzPjUWqVKRFBVRxKmpZb+wAeMglHl"
    "0oVANLghDsuJsdvI2OqtEBJmRaGLYAZQu7wPEi9/mkjRS8LAdZK3nSCL8mJU+fZ+itmqDW"
    "9LSmpzU9relJyhJFNL1L+t34x4qSO406nYuI66CN1Dihk0Ra+ZFFHjQpPy/r4ZKogHIvMc"
    "jafMb6w+A5El3Xt6DwdHFEnNVMFtPzHVUdut3njvhL23GEFvuaQq/1zte6v7BnHFOrgRsp"
    "gRzMYI9VhhkuBVRI8mQE6p0x+HCwgeT5cFAreditIroPyCQrI/SRJ+bGKdOph3X3nhw2PX"
    "ERRQn6S5FCs1XC7dn1B7tSaJaaX/a9aKGmNZFuO7B5pSZd7bN+Vb/aap99+mlKJ2I4/prq"
    "mZl6v40djzXyp3V69eB8jwqgRt+K4xBj8a498L3ulnb/SOn+0bGvLWhM6K8AeRg6gjiXyN"
    "TTTXtxubGYPfIMUb9miUzBdd1LAl9AF2kV5mt6lQ9zOl4JfJu0otHv180+hEwpOruYfE2H"
    "lx0LJeclfDBEAc/TaNBbgM7AqymgVKujFGi2Z+S+71dV6czG1TWpOq9JBVmtIVGvQUqzRa"
    "dBdmVnvQb0oQHCgbGA/kJEwSjTKSGM+/br7lp5eml2QrmdMtWMMV01/cUiUzPbQcYd9NHh"
    "RxHFskSmgnW6bdUyc6dV95ARDleVHLyiwZoSb7FyvUuNZAagGP6Dy9HkdDz5egQS+lt8eX"
    "VxMppOR6f0mkdM5PvIusVfhuMzdmkG7aSL8svnNMAgQCtXqKFinkQZJbUz5T/jd4s9vUyr"
    "yyvKvKcjzyOeyJaSEejNpMVmEjswRRPcSmQqIN/3lsD3XNRDXOOwUADb7kMlbAqWjz+zLY"
    "R5vXy+UJ2/zutWpS1BPmPEuwd6A8inFzfHZyNweTU6GU/HiXWQ7QLRzaJD42o0PONh7iHo"
    "846ENLjyi2QqrO6t+5YZhOJdq0pkKiDft8y2fdbiczYz6AORx7p8cg9ANfpLa+fQ3fE29p"
    "7moTNM6Autey6xequ/ezdqAThxSV9DrgLy25b4BShdzyaeHQjVgqydQAVu9N65MHSQb7D0"
    "NK70b0h5KhOqh3b3urw+Ba5Pge8CS7o6BX41ml5fjU+um46B5/w19nwR0K/1zCr7SarwNJ"
    "lNIfh7LbNfho2Ti81Btj4ZO230VODqJvX1CUu2jksW/c1PqhKxSkQQsLqSyMqqE73xEV19"
    "0InH+sDGgGAE5h4JXVboCCBoLtLR3Or6fT6KWxhptU5j1zWR5Nsg9oDOC9d54RIi3U8pBp"
    "0htyUfj07aeiUB3lTpEd2qi3TarOvKrMvpW8+06JTt3bVXsumKS1Gmol4J9tcxY+qsk+sk"
    "tvy0ZRKvr02sknqQn1Hly6TfTETJSccrV2eqKzVS1pJeLy2I+3ZqUijmxBPr35SjURDk7v"
    "30+a9Vwbk+TlUi22Ji7OAFtMVeksiIFxjEsxAnb69WnSsS6YxXrpb2MkrEFfIpNCdJB02e"
    "HlEa0ahKeNFYI2vI+XLahHYOaudgVUTsvlK3mW1dj3KjZa1x5vlgWc65wbdOasVJkajVji"
    "ebA7brI97aB/g6fID64OaLHdxcQGw5rV6xIqU+RSXzC2aSFVXvrRYJVHk6hfaol/Cxv4z1"
    "dhKzcMAx29Jbe83duqJB26gMmFfv2cnkMHpoWhOwcJcVwaCCJ7qxHprYlhZ9UHrzgXjLgB"
    "DHyGm1f9SUGMy17NalBuW0Gm0LrVwSIGw+GksklvRcJVUuLtBLeTYPuY4w2gUiBf3VvSDt"
    "Qo+jhjWXs0pplKkQ1kUlKwYKJyf2aSS3XG9hB6CU1U+nVkBQhlMOr1ZTL0iO0KPGl1iTjT"
    "WJgou9j3ps9Gf6TNG+E1QpinQKhGa3kLIaPIpVHX3cdmHMHXJIB9Cj5qvIml1TKCgaetGB"
    "kxKXVZDrUzZyJArIhG2na8DASH3lmzrfcyRydPlSquUaXeceFGFHRiAHM5RqubZ2LlZF/m"
    "b1FUOeTdmnYKJDQ2QJMmDwfzejG1Y3Maa+xdPR5PoIMEcr/XxzcjIanbLbfmiaCFnVSou3"
    "+Gby6+Ti2+QIhHiJyUOUPvfyaYA5p26Fic0BriKlDiFLHeHCrFp+UjSzBa855DqiKTO/Wc"
    "lBo76uarOnr0KsTL5pFx6/NLgm+ArlyPSrI/OrU4ySCnK5Qqx5LTOvZza2/UUr9adEqvks"
    "M595aQ5cm4XP6xpy9aoCdB+6uYOBuTCiHyeqhpRIFQradKGG6KTqXnzYMULi9RvLdCrIhm"
    "27Wtk+SSH1A4NjsjQVpS7S6YLUGxSkjhxVvi/s2y7TPcunujuQ99MVCNqOMAMKRBr99ugn"
    "ppp4afAKoQqyvm8/s8Ntw9RYGSol0YWhnigMJUkq/ZmzuolK2XBy6bN7e03J9I6zMsJsWL"
    "/Z9BaMsmSib6Hz2SXNZxd3y+ho1A64Y5J3b9MNNxmuYIrQ+3eb7LPv6vfZd5Uz7ZE8EwA3"
    "I1AR3j4yBnUKbO8psK5HWKA5IEuERbpCVuiUCVx25t8yKUIOinLhheHl0mqIqxDzLPoG/1"
    "VK0NJx1Q7M/b7g7NlxZUJzgXhKeZMpuSbSxqRAlWGyFMQ5JtgixqlJtLMQ6wau24wwMJcS"
    "O+C8Etn2ikQ6aCaV02noIC8YcDxO8Y29JncTZEO2UblhneccJVLSmWHccyarw8A5pJgQRb"
    "eXdlyHgrh0nVkZVe5P7cCS0oEViiWahF0eCpao8EL3JmL6RmyKbDpe298bgGshK3RFS1oU"
    "iNQri9jLaT4mwEVxztN0ogNKJCf6OjKpqwdIUT3AD+/+hUyhE8I5EgUOr27jQLsdOGKdzl"
    "MCBbfGXuSJhQJoc2IsTUXzUwoF1vDWbXZ0z4toNecOZ0S6WFHeNI7ejRZwFgg1pLt9AJop"
    "kILCYXBxOZocAUZ5i0+Gk5PRWXS22WS/ynGS49QvnmRGTDP0PES/k4h/r0SlzPLuLid+7a"
    "8yScgrPlJ/4IBDqiOGlapaxLFNjhHYUN87o9DlvZ+RA7x2oFawb04zKxDqbDOps80c6Af0"
    "l3itGF0h1syWmtnJhtOK12VafaZXZk5zQmmC/ObPoLkuM9f9ALlx9pmAFlok0gp+xYiNjj"
    "I1Ho5v8pFzybWXvLWXPIazbVMSLrnmRltuxC6O2hPhm/l5KpNInLw1oCL6yxeDIjG6+m00"
    "iaraBXA2MygfkHfP7J5bfDMdXRlXo+nlxSSqexf6iJ1+912Co+J39NbF2W/sDr1InHt27X"
    "w4uRmeHQG6LEPo3OLR75fjKzYE/eUyBbuND6n72HfCKkx45xWb+g8XyCTmr0yhlMx/KFjr"
    "ukynHty9xAbXsLUo91ii1WqyzGqy6UDKA+HXqkClX6rNXqoEtBavVIFSv1CyvVAypTiP7l"
    "kJ97o85/ju3pPJzgZiAzdLeR58W8AALOiMTOUDAQEQg2iWPWBjEDWjj0OCyNqjal4URKOf"
    "Mi/a3jo8SD/Ga32/rOT19xTd+lxqC6vh0H+0UkV5kKfqy8OjKi90wQUFd68CW6MeBCKq4J"
    "pCwbTAHsob7UiSWv8Cq4ukKrr4eIciG1frMw5Ftkuj8h/9AK0Gu2u46DzW3vNYZbIgziJp"
    "U2dBnKWy6CkLIhJaG1oQ06gVCph5ZAWoDh7r9T7wQgeBmU3/oaq/H0Av+Cl0wZsHZgmwYc"
    "PLMbUCLGBBf3FH6K8H/oI8vK3aDj3M/wyroe89YEesh/YbQL1JEP0vsB+k4xXUXbov0Q1n"
    "AfKMlY3DgJc321C4pEK5zQomL6P6d1LCZAExToTopgmfeRo5+pgp1VTOQ6bt2qlvbFOmFK"
    "k0WzpnS+haLXP5ipQKuifo4oPWBXYek11+d90V0beXRFOekMCe2SZMuFHRlQv3G7VlnBvZ"
    "Q42R7wWHZ6ZFJtsE+5gJp7g4SE1BkqRTUVyEZE28bsxbM3SdXaRLj2g3usxy8kX86Nof2K"
    "U/MCeYNk5lWJMoaAR2n/a23i0EQC4QKQhzPwUasq11U5jXFCpifLhRDezDhiLYh5Uq2MSz"
    "5zY2WsiNKqV6aVDdS48dPAXvImwxyMQQH1yOJqfjydcjkNBHncDjK37uStYb/HR0Nv5tFK"
    "U5UxPBvkfeJr3B6Ry/ji8vo9zrpe26shywb9tRWDcTrtFs2nWZ7bS9rGzbw+46MjhpuB5q"
    "6b8qUmo2y81mnQL8CrisG7+rzV/dDPx18DnqKy1iE2YE2hR82hR0PXJvW0gofS9Pox7G3Z"
    "thKV6CbexLZAoi3cv5rpbn8PUB/G5CKbpDymvJUmXZZFPoIP8a+ssBL1O1OGKvMVs1yk3z"
    "2WAjoKO32+cD+r49xwht1N0jrpvgI6MQYV87AHSEXc4Iu27u0ZMOqdsi6LYIr0jDYcVzhA"
    "SJ/wxTSTY/8FYi7v4yRkkA5AKRgkj3EARe2o5QrD0jUEFR79+vYhPPDoT2xDzNFkPrmHgr"
    "6Ay2IzA6d67oY5G9G5yFnhRx1UiRgv15El3MUxfzlFm3e82ZUcPpdPw1KiCZuEOsW/xtOL"
    "6mowxWQPIIPEA7oEMNptHe4vHEuLy6+Ho1mk6PgI0N1yMs7uPf4pOL88uz0XXUciRuQs/m"
    "krcRSeb+Edis8zTqKUS9KPZRmC9dW4K17ni06sHew2nhCLIVS2poqonbtMZLxOqh3ou/Jl"
    "urLWo0FUl1eoLM6QnsxUjfEhGtuEKnTKJtZ6pxrkq1j4znqWZ1c+2iopYr5F2o4f2FamnR"
    "tRn9tfQKW94XN9f09adSgoSBHMpWkROpABM6LM6dQYtJmcVk6f2rsryhbgmHtmXlkt1hcB"
    "eFSyLcTEJcBgmL/NQccxWQoNzZtihDkwM3ojL0l/HXX47Awp4vbvH56HR8c34EVsiyw9Ut"
    "Prv4dgQc8lA91iOHvIy7OcAgsrpbyUv+DFpeyiwvY57NiENXphG6z+B7dQ7NeZk5X04vEm"
    "Q6h1zzeyf4LdomrUqoTciyCemhFfsZbbwwJVL9Esn8EumTm6+CzbrA3KtgcxY0bPM+l2i1"
    "3Jaa07rF2WvhtEP8Fh3OckTqBR57anBGMWsR7C3TqQd3Z3FeSU5gnULbebxCLvGCAef4Vf"
    "72XtPZK4sNpJxnIzdsFXCBEfDIA3CRB+5C38bI94EFH4+iiv0zex5S0bHH/rA94CHKfcYn"
    "eoUV8n9YRGeyQPzDPB/MSQDsoNowoLen6GZjUufj1Z/hosznqwk1qb6Qt3MUNIM2qv6LMq"
    "IpaEQ3+nJ6NEWyilh9jfR0/Paro78MZL3UQV9Bb2klAaRNs9LzNEqcX9l2ZvoiWAkdA0jH"
    "a7BbgJ3B08JuK9NqZ4zUhltWB7NN5cMSrTbRd4DTj0Z93dBaNZdLq+NRlQKiKUzCZVKqlC"
    "oY6NvetzDFN12iLeQZh1yLNNlEmiTeGVbzprYN/PrmXpNnJjrV/rwm8IDNcQSSMOce+Bex"
    "o97s6SED1qV9/TlJEttbJxazj3EgfH9/k3bwnT9P+2p21FcTLV5RFuSIdFv4tqdYdVt4ZT"
    "Yz3RZ+m+eAdSNz3chchYodkqjAQ+TZ5oKn/yZ3GpVfuB7TZx1IIe3xtaiOz3R41CuFrAyd"
    "4CaWI1FwF+vn8Dl9qUS2sXi4gui+f7dRu7J3De3K3lXaldEnBtzWew39wNckOrIqGFl90c"
    "3sx38BzWxgMg=="
)
