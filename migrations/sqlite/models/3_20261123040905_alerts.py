from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "alerts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
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
    "status" VARCHAR(16) NOT NULL /* OPEN: open\nCANCELLED: cancelled */,
    "occurrences" INT NOT NULL,
    "escalation_count" INT NOT NULL,
    "policy" JSON NOT NULL,
    "opened_at" TIMESTAMP NOT NULL,
    "last_fired_at" TIMESTAMP NOT NULL,
    "escalated_at" TIMESTAMP,
    "next_escalation_at" TIMESTAMP,
    "step_token" INT NOT NULL,
    "source_message_id" BIGINT,
    "source_command_id" BIGINT,
    "cancel_reason" VARCHAR(32) /* STAFF_INTERVENED: staff_intervened\nUSER_RESPONDED: user_responded\nRESOLVED: resolved\nMANUAL: manual\nEXPIRED: expired */,
    "cancel_note" VARCHAR(255),
    "cancelled_by" VARCHAR(128),
    "cancelled_at" TIMESTAMP,
    "claimed_by" VARCHAR(128),
    "claimed_at" TIMESTAMP
);
CREATE INDEX IF NOT EXISTS "idx_alerts_dedup_k_630b06" ON "alerts" ("dedup_key");
CREATE INDEX IF NOT EXISTS "idx_alerts_status_3c1167" ON "alerts" ("status", "next_escalation_at");
CREATE INDEX IF NOT EXISTS "idx_alerts_convers_c31500" ON "alerts" ("conversation_id", "status");
CREATE INDEX IF NOT EXISTS "idx_alerts_kind_d05b1e" ON "alerts" ("kind", "opened_at");
CREATE INDEX IF NOT EXISTS "idx_alerts_opened__d138ff" ON "alerts" ("opened_at");
        CREATE TABLE IF NOT EXISTS "alert_events" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "alert_id" BIGINT NOT NULL,
    "at" TIMESTAMP NOT NULL,
    "action" VARCHAR(16) NOT NULL,
    "level" SMALLINT NOT NULL,
    "actor" VARCHAR(128) NOT NULL,
    "detail" TEXT NOT NULL
) /* What happened to an alert, in order: opened, recurred, escalated, cancelled, claimed. */;
CREATE INDEX IF NOT EXISTS "idx_alert_event_alert_i_8b507c" ON "alert_events" ("alert_id");
        CREATE TABLE IF NOT EXISTS "alert_levels" (
    "level" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(64) NOT NULL,
    "after_minutes" REAL NOT NULL,
    "channels" JSON NOT NULL,
    "recipients" JSON NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
) /* Seeded from the alerts rule file at start-up (what the API and dashboard show). */;
        CREATE TABLE IF NOT EXISTS "notifications" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "alert_id" BIGINT NOT NULL,
    "level" SMALLINT NOT NULL,
    "channel" VARCHAR(32) NOT NULL,
    "recipient" VARCHAR(128) NOT NULL,
    "target" VARCHAR(160) NOT NULL,
    "origin_channel" VARCHAR(32),
    "status" VARCHAR(16) NOT NULL /* PENDING: pending\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nFAILED: failed\nUNKNOWN: unknown\nSKIPPED: skipped */,
    "attempts" SMALLINT NOT NULL,
    "due_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "claimed_at" TIMESTAMP,
    "sent_at" TIMESTAMP,
    "finished_at" TIMESTAMP,
    "batch" VARCHAR(32),
    "provider" VARCHAR(16),
    "provider_id" VARCHAR(128),
    "command_id" BIGINT,
    "error" TEXT,
    CONSTRAINT "uid_notificatio_alert_i_e9337a" UNIQUE ("alert_id", "level", "channel", "recipient")
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_status_1ee529" ON "notifications" ("status", "due_at");
CREATE INDEX IF NOT EXISTS "idx_notificatio_channel_d86dbd" ON "notifications" ("channel", "target", "status");
CREATE INDEX IF NOT EXISTS "idx_notificatio_command_da2e52" ON "notifications" ("command_id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "alerts";
        DROP TABLE IF EXISTS "notifications";
        DROP TABLE IF EXISTS "alert_levels";
        DROP TABLE IF EXISTS "alert_events";"""


MODELS_STATE = (
    "eJztXWtz2za6/iscfVlnxs0kTupkPTs7I9tKV6eO7PWl7WzSYSESsnhMASwJ2vXsyX8/AH"
    "gnQZqgSZlC8KV1QDwg9bwk8N7w4r+TDbahG7y+xEtMJkfGfycIbCD9o3hh35gAz8uaWQMB"
    "S5f39FkX3gSWAfGBxQZaATeAtMmGgeU7HnEwoq0odF3WiC3a0UG3WVOInD9DaBJ8C8ka+v"
    "TCl99ps4Ns+BcMkn96d+bKga5deFLHZvfm7SZ59HjbyRr4n3hPdrulaWE33KCst/dI1hil"
    "3enTsNZbiKAPCLRzP4A9X/xLk6boWWkD8UOYPqSdNdhwBUKX5H7w0szaJqa5OL82r2bXpj"
    "mRoMjCiNHrIBLw378Bf5kuRLdkTf95+P5bdJ+Mh6gXu+Ev08uTf00v9w7fv2I3xFRGkegW"
    "8ZUDfukbHwIQEA3CWc9o5v+XIDrp3w/VSUPGdfaGbZ3stwcfW7BNe9XSza8xvjN+fezCoE"
    "rw/1ydL8QEp4ASw7ZjEeP/DNcJyFBMT/6xCpHFSDSWoeMSBwWv2f3+ORmI/wa6GUFs5E0Q"
    "/OnmWd77PP2tLICTs/NjThkOyK3PR+EDHJeEARGjRzCxHGPKOkBiieRQJZksKWwoYSSTzn"
    "ZpPz4/PyvQfjy/LpF98/l4Rj8DLgPaySG8eb64LpGNkesgwdzSyHUG6kZ1zNpYJpjtMO2C"
    "gJgWcN0lsO5MQKqcn1LGiLOBYtJF+PLsEw/wOvlDKVlczz/Prq6nny8KAjmdXs/YlQPe+l"
    "hq3TsszULpIMav8+t/Geyfxn/OF7PyxJT2u/7PhD0TCAk2EX4wgZ3nJGlOmgTflmmtAbqF"
    "dgeRCwfQMt8JmUPr7nkyzw+gZT5mmYfojl5CJh2SciTQI+eIiIUtQJZETfkaSnd5M5S+fs"
    "ue4IeDt+8/vP/47vD9R9qFP2Xa8qFB+jULZ8JUx3WzCNef05g/J8uHjPcOoi4ie5Dy6Exh"
    "+gPtc+Q+xm/gjog9/liaJ1HP7ij1IlJLfSxSF3zs/OmZM3F1l/NzsQZm1DwA3zYLV7LXIy"
    "CAhIEJ7yESrbDHMfzTz5fQBZzg6ruQd6te8fFmbLgdfCO+Jd9A0prnFh/gOnKrlzYHm3IL"
    "QOCW/yR2b3anOt7qXNYlbp/wXpsV0T7pyp5MjcgmMvDKAAYf5m+BEanOBhsPHrF28GBEgx"
    "uJ3WzsOSQwlth+NJzACBGlOtzQ+0J73wiwQXvRISclGQx8u6/IIezyHfTIKwP7dKj4dgGE"
    "yFg+Gh526a1uozvP0QrH93492e/de3/s3Naqq0L/vUBDjef78brvIw317wcH7959OHjz7v"
    "Djj+8/fPjx45tUVa1eatJZj+c/MbW1MIkmemy9U9+HFnTuOy15Jeh21rxtSmh3l7g6l4B2"
    "sQ7vYvXAo4uBYFKrD+TkINsP5bwM4YMEbQIc+pZUjDJDbC9KOUkW5qFiZaVY5WGbUGV5bs"
    "pFKg+rgUqmMclF3fMYBQPC/UTfK0ZJifMq4Z+wD51b9DN85LTP6SMCJHyhy+kcO0Z3nbFB"
    "m6nKm6qVhfeM/nr6m2E0UZ9Mr06mp7PJt3pDb0i75QSje+gHIP7dFZulcL3RXrFyPQdIuv"
    "kyuaMiZuPewcfJ71qL3wUtPhFZ29k46a/gTNz/cse+Axluo+4KUnvw448tuKW9asnl14rs"
    "6qyyYfn1Md5ELFVIvtpQRbR2hi4AlQkIvjv4cJhOzewfTZPx1efp2VnVwtOxoafUNCVcJj"
    "xmu4FBQDW6riHfIlyHfMcsb2Y4eCAM6PcZIuK4sgIX4bXExyzxWFpLKf2uAOqkhYxMogMp"
    "IZ0irMB1QCDKgpeJreZt6SkbcHcX0mpwtaw798jVAuyyztFMVbZHqR+uVPOjFciKtZZn0j"
    "VHSxwi+3M0mEpcbctRGE1eT3gL0xmuncvQzE2xLXIckAHsjYN+2AAbGht6C0rYUZpawPIF"
    "HqFt/EH/94exhC5GtwbBxh/5O/5h7MHXt68NsCKQ5RX4kP2aVzxvoJjhMPDNtLdTezsVcx"
    "lpb+f4FWGR60jO5CiiFOR6kP202k33lGajhBFfUG5kF2YBeHuubiUW6oacBasU035m6kI5"
    "RL5jImmbwSB4JceayLCIBN1oniROhZbWSerSeNo2mVHUo8EALFk5N4ixBgG1DyCKcpepDU"
    "pNgb3IEjDWTkCw/ygwP3oYT2hhlD8DTpY2NUYzgzWZGjo6Paw+vHL8gJjss+qgplXAWlPT"
    "mtquCVhraqMTiYKaWm15N2FMo6WuJlH3bTKN9o1xVYprUYQqTkUta88hhg897NMXhWpgcR"
    "CCbXdzyCu+VY12sADTwpBtULGwBoEXecg7tVLw0hxkreSNZvJrUvL0fobBqglqTU9relrT"
    "05reSEWiiKZ3QZ9NvK0ovtKo03kQey5spcZJ7STSys9Y5oMm5edlPVwjKqA8SAyyNp+xfj"
    "N4DqLr+hYUnj62iLOayXJ6vquqQ7f/3JHgznFdqZc9Q+h3vfd3PVg7K4Gp1SCNBDAOYbDb"
    "KiMMjxIqNfOkAPX2GLw7aDHzvDuonXnYpSK7D9DCGzMMoC/nxinj1OO6f08OGx57kLIEgj"
    "uZQrNV4Pbs+oNdKTRLzS/nXrZQUwbSxw60r9Skq33Wv9XfbbXPIf00pR0xAn9Ndc9Mvd/G"
    "ifqa+d06g3pwvvACqPypBA4xFu/aN77UXdLun1G6f3TsawsaE/yLQB8BV5LnEkw93XQQlx"
    "uL2UPflPVrlmAKvteDJPAR+pJWab6mrWKak/5K8NukFc1+u272IaRK0dn54qeke9mxUHJe"
    "ggdTlvA8RpPegXRGXk0BpVodpYDZnpH7dlhVpTcbV9ek6r0mFWC1hmS9Bglmi06DtGVnvQ"
    "b0pgQiYq5BsJZRMMo4JSbjof26u1aefjQr4bidMtWMMV01/cUiUyvHheYSBPDwvYxiWYKp"
    "YJ1uW7VM3WnVNWSGwk0lB69osCbgLVau96iRzAiU439yMVuczhc/HRkx/iu6uDw/mV1dzU"
    "5pm48tGATQ/oo+TednrGkFnPgU5ZfPaQCEwI0ndaBiHqKMktqb8p/Ku8OaXsbq8opjXtOh"
    "72NfZklJAXox6bCYRA5M2QS3EkwF5odeEsSei3qKaxwWCnDbf6iEDcHy8VeODZHoLJ9PVO"
    "ev87pVsSXKVwy8e6Q3kHx6fnN8NjMuLmcn86t5bB2kqwC/WHRoXM6mZyLOfQgC0ZaQBld+"
    "EabC27113zKjUP7UqhJMBeaHnrOdgB3xuVqZ9IbQZ6d8CjdANfpLa8fQp+O19p7mqTMtEE"
    "i990Kwem9//27UAnHyM30NXAXmtz3jF6j0fAf7DpGqBVk7gArSGPzkwtCFgcnS04Szf0PK"
    "UxmoHtv96/J6F7jeBb4LIulrF/jl7Or6cn5y3bQNPOevcW7XhD7WM6vsx6nCV/FoCtE/aJ"
    "n9Mm2CXGwBs/XJ2MlBTwWptqmvj1mydVSy6G9BXJWIVSICBqsrCe20OtFeAOnbB9yob2A4"
    "yMAIGrc+Dj1W6MiAwFonvYXV9Ye8lbAw0iZLY9c1kca3QOwbOi9c54WPkOlhSjHoDLkt+X"
    "h00tZ3EuBNlB7ZpbqI02ZdX2ZdTt96pkWn7Nld+yWbrvgqjqmoV8z9dSSYOuvkOo4tP22Z"
    "RO9XG6uknuRnVPmy6JPJKDlJf+XqTPWlRo61pNdLT8RDOzUpFbfYlzu/KYdRkOT+/fT5x6"
    "rwXB+nKsG2mBg7eQFtcZAkMuwTE/s2FOTt1apzRZDOeBVqaS+jRFzCgFJzEp+gKdIjSj0a"
    "VQmf9zXTAzlfTpvQzkHtHKxOEbuv1LWzretZbrSsNc8iHyzLOTfF1kntdFIEdVrxxuaA7X"
    "uLt/YBfh8+QL1x88U2bq4Bst1On1gRqXdRjfkDs/CGqvd2hwSqPE6hNeolfOwvY72dRCKc"
    "CMy25NJ+82ldvNM2KgPm1Xu2MznkN01qAhausiIYdOLhF7KusW1p0xslFx+wf0cwds2cVv"
    "t7TYnB3JHdutTgOK1Gx4YbDxOIrEfzDsolPVehysUFBinP5kPPlWa7AFLQXz0I0x7wBWpY"
    "czmrBKNMhbA+KlkxUgQ5sU8zueV6CztA5Vj9dGoFBMewy+G71dQLM0foU+NL7pCNDKLgyz"
    "5EPTb6MwOmaC8lVYoiToHQ7BZSVsmjXNXRx20XxtwhhzQBPjVfZd7ZDKHg1DCIDhyXuKyS"
    "XJ+ykYMoMCdsO10DEDPxlbd1vucg4zjlS6kj1+h77gMZcaSAcQhDqSPXMudidcpvV18xFN"
    "mUQ05MtGsIbUkBTP59M7thdRMj9Fd0NVtcHxnM0Ur/vjk5mc1O2eUgtCwI7Wqlxa/oZvHz"
    "4vzXxZERojuEH3j63MunAeacuhUhNge4ikgdQh51hAuxavlx0cwOshbAdURzzPJmJQfN+r"
    "qqzZ6+CliZfNM+PH5JcE3yE8rB9Kcz5k+nGCWVlHIFrGU9ZlmvHOQE607qTwmq5TxmOYvS"
    "HIQ2i1jWNXD1qgL0H7pZAmKtTf7jZNWQElShoE0faohOqh7Ehx0xJF+/sYxTYW7YtquVrZ"
    "OU0oCYApOlqSh1EacLUrcoSM0dVUEg7dsu457lU90dyoc5FQg4rrQACiDNfnf2Y1NNvjR4"
    "BajCXD+0n9kVHsPUWBkqgejCUE8UhhpJKv2Zu7nhpWwEufTptf2mZHrX3Zhh2m3YbHob8C"
    "wZ/hQ6n32k+ezybhkdjdoBd0z87bVdcOPuCqYIvX3TZp19U7/OvqnsaefzmQS5KUBFeofI"
    "GNQpsIOnwHo+ZoFmgu8gkjkVsoJTJnDZm3/Logy5kOfCS9MrxGqKqxSLLPoG/1UC6Oi46k"
    "bm66HoHNhxZQFrDUVKeZMpmYG0MSlRZRjfSfIcAbbIcWIS7SzF+gDXbUYYmEuJbXDeyCx7"
    "RZAOmo3K6TR1oU8mAo9TdGG/yd0EWJdtVG7I8px5IiUdGURnzqR1GASbFGMQv3znRHUosE"
    "ffMztF5f6pHVijdGCFcokmYZ+bgkdUeKF/EzH5Itoym/TX9ncLcm1oh55sSYsCSL2yiIPs"
    "5mMTuCzPeUwvOuCI5omhtkzq6gGjqB4QhMv/hZbUDuEcRIHNq9vY0O4QV+6k8wSg4NI4yH"
    "xiQwIcQYylqWh+glDgHd66zQ7vRRGt5tzhFKSLFeVNY/5tdKCzANSU7vYGaKZASk4Ok/OL"
    "2eLIYMiv6GS6OJmd8b3NFvtVrhtvp37xJDNsWaHvQ/pMMv69EkqZ17u/nPjMX2XhUFR8pH"
    "7DgQCqI4aVqlrYdSyBEdhQ3ztF6PLez8gBzhyoFe6b08wKQJ1tNupsMxcEhP4Sv5OgK2At"
    "7FELO15wOsm6jNV7escsaUEoTVLe4hG01Mcs9YBAL8o+k9BCiyCt4FeMWL6VqXFzfJOPXA"
    "jXXvLOXvKIzq6HkgjhWhpdpRG5OGp3hLfz81QGGXHy1oRO0Z8+mZSJ2eUvswWvakfAamVS"
    "OUD/ntk9X9HN1ezSvJxdXZwveN27MIBs93vgYcSL39FL52e/sCu0Ebv3rO3zdHEzPTsy6G"
    "sZAvcrmv12Mb9kXeBfHlOwu/iQ+o99x6JCWLRfsen84QJsxPIdUygl9R9K1rou49Sje5DY"
    "YEZbh3KPJaxWk8esJlsuoDKQ/qwKKP1RtfuoYtI6fFIFpP6gxvZBjSnFeXbPSrjX5TlHV/"
    "efTHY2IevYLuV58usaEGNNR2Qqn0GwAZDBR9k3HGTww+ijkCC096max4No9K/Ui7afhQfp"
    "n9G7/rqs5A13F330+agtrIZN//xNlZVBHjWUh0dVWeiCCwquXgWx8jMIZFTBDKFgWuAA5Y"
    "12JElt+Amrj6Qq+vKJNkU2vq3P2BTZLY0qeAwI3Ex213DReayD57GOyYI447NNnQVxlsxF"
    "T1kQfNJqaUFc8aNQjJWPNwbVwSO9PjD80IXGyqH/oap/QIBPfgg9Y++BWQKs2/RiTq0A27"
    "BBsF5i+uuNYI0fXlVthwHGf4bVMPQasCPWQ/cFoN4k4P+XWA+S/grqLv2X6AYrAn1z46CQ"
    "iPJmGwqXVJDbrGDyMqp/LyVM1gCheBJtm/CZx4zjHDOlDpXzoeV4TuIbayuUIkqLpXexhJ"
    "7dMZeviFTQPUFfPmCfI/cxXuV3113Bn34kmvICE2flWCCWRkVXLlxv1JZRrucANUa+FBye"
    "qRYZLxPsz3RyioqD1BQkiU8qioqQZODsYN58GZJcTpEuOKKd52OeHV/Ee669gH16AXPTUe"
    "sEhgyioOnXf7JbtkZIkFwAKUjzMGUZ0gW1Lc0ZQkWOD1tVvj5sKH19WKl9jX3n1kFmh3mj"
    "ilQv+an/2WMH9757ENmMMjnGJxezxel88dOREeP5+d9RS5BrSU8EP52dzX+Z8eRmahg499"
    "BvcyI4HePn+cUFz7i+czxvLNvqu54jrI8QrtFsup0t2+uhsmNbHnbXfSFIvvVhR69VEanF"
    "PG4x68Tf70DK+rh3teWrjwD/PuTMT5OWsQlTgDYFnzYFPR/fOzaUStrLY9TjuH8zLOFL8v"
    "D6EkxBpgfZ1dVx973edt9PKEWfi/K95KZC37HWE1FeanRlvzEnNesz5BEeUsHu7yXS/czy"
    "M/UxbFZwXXK7Sg6iYLRkkNoL7KOSYDjuriC7b9+0O4W16RjWSiyK3pEI46oNKZ4ZRBf1lE"
    "wafNHF7Nv/A54lJlg="
)
