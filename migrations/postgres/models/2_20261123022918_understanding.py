from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "llm_usage" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL,
    "day" VARCHAR(10) NOT NULL,
    "model" VARCHAR(128) NOT NULL,
    "purpose" VARCHAR(32) NOT NULL,
    "prompt_tokens" INT NOT NULL,
    "completion_tokens" INT NOT NULL,
    "cost" DOUBLE PRECISION NOT NULL,
    "cached" BOOL NOT NULL,
    "ok" BOOL NOT NULL,
    "error" TEXT,
    "latency_ms" INT
);
CREATE INDEX IF NOT EXISTS "idx_llm_usage_day_c6be6a" ON "llm_usage" ("day", "model");
        ALTER TABLE "conversations" ADD "bot_paused_until" TIMESTAMPTZ;
        ALTER TABLE "conversations" ADD "paused_by" VARCHAR(255);
        ALTER TABLE "inbound_messages" ADD "intervention_priority" VARCHAR(16);
        CREATE INDEX IF NOT EXISTS "idx_inbound_mes_convers_acf1a7" ON "inbound_messages" ("conversation_id", "id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_inbound_mes_convers_acf1a7";
        ALTER TABLE "conversations" DROP COLUMN "bot_paused_until";
        ALTER TABLE "conversations" DROP COLUMN "paused_by";
        ALTER TABLE "inbound_messages" DROP COLUMN "intervention_priority";
        DROP TABLE IF EXISTS "llm_usage";"""


MODELS_STATE = (
    "eJztXW1z2zYS/iscfakz43oc2XFynpubkWWl1dWRc5Z87TTpMBAJSRxRgEqCcTW9/PcD+C"
    "a+gLQgkxSF4FNiEAtSz5LA7rOLxd+dFTah7Z494CkmnWvt7w4CK0j/k75wqnXAer1tZg0E"
    "TG2/p8O6+E1g6hIHGGygGbBdSJtM6BqOtSYWRrQVebbNGrFBO1povm3ykPWnB3WC55AsoE"
    "MvfPqDNlvIhH9BN/pzvdRnFrTN1JNaJru3366Tzdpv6y+A897vyW431Q1seyu07b3ekAVG"
    "cXf6NKx1DhF0AIFm4gew5wt/adQUPCttII4H44c0tw0mnAHPJokfPNW3bR1dH91P9PFgou"
    "sdAYgMjBi8FiKu//tX4C/dhmhOFvTPq8tvwX22OAS92A3/23vo/9x7OLm6fMVuiKmOAtWN"
    "witd/9I3fwhAQDCIj/oWZv9fAaCj/tVAHTVssd6+YY2D/br7bge0aa9CuP1rDO8tvg62oZ"
    "sH+N/j+xEf4Fggg7BpGUT7n2ZbLqkL6c4/Zx4yGIja1LNsYiH3jN3vX52a8C+BmwHERl65"
    "7p92EuWTD73fsgro393f+JBhl8wdfxR/gJuMMiBi8HAmlhtMUQeIr5GEVEYnUypWlzKiSa"
    "dZ2G/u7+9SsN8MJxmwHz/cDOhn4OuAdrKI3zwcTTJgY2RbiDO3lGK9FdoP6hC1tkwwzSBt"
    "A5foBrDtKTCWOiB5zG8pYsRaQT7oPPns7BMOcBb9RypdTIYfBuNJ78PHlEJue5MBu9L1Wz"
    "eZ1pOrzCwUD6L9Opz8rLE/td/vR4PsxBT3m/zeYc8EPIJ1hJ90YCYxiZqjJs63pRsLgObQ"
    "3EPl3AGUzo9C59BYvkznyQGUztuscw8t6SWk0yEpRhw7cogIX9kcyYyqKV512S7nddnrc/"
    "YEP3ZfX769fHdxdfmOdvGfMm55W6L9goUzQmrPdTMtrj6nNn9OhgMZ7nuoOi1ZgZZb5wrT"
    "H2jeI3sTvoFHovbwYymfRNfmnlpPSyqtt0XrnI/df3pGJs6WCZ6LNTCn5gk4pp66sn09XA"
    "KI5+rwK0S8FfYmFH//ywO0gQ9w/l1I0qpjf7wBG+4I34hv0TcQtSaxxV1cBG7+0qq7yrYA"
    "BOb+T2L3Zncqwq2Iss5g+wx7redU+yyV3elpgU+k4ZkGNH+YH1wtMJ01Nh68Zu3gSQsG1y"
    "K/WTuxiKtNsbnRLFfzEIXaW9H7QvNUc7FGe9EhOxkd1Hy7z8gi7PISrskrDTt0qPB2LoRI"
    "m260NbbprebBnYdohsN7n3VOK2fvb6x5obnK5e85Fmo437eXvg8s1H90uxcXb7vnF1fv3l"
    "y+ffvm3XlsquYvldmsN8OfmNmamkQjO7aY1HegAa2vey15GdFm1rwmNXS8S1wRJaAo1vop"
    "1jXY2BhwJrXiQE5CpPlQzmEAryVo42LPMYRilFuJ5qKUnWhhritWlolVXu0SqszOTYlI5V"
    "U+UMksJrGoe1JGwoBwNdH3nFOSwTwP+HvsQGuOfoEbH/YhfUSAuC90Np3jyOAucjZoMzV5"
    "Y7My9Z7RX09/Mwwm6n5v3O/dDjrfih29Ov2WPkZfoeOC8HfnfJbU9VJ/xUj0rCHp5lNnSV"
    "XMxl3CTecPZcUfgxUfqWzX2TjqL+FMXP1yx74DEWyD7hJC233zZgdsaa9CcP1raXRVVlm9"
    "+DoYrwKUciCPV9QQLZyhU4LSBAQvum+v4qmZ/VE2GY8/9O7u8h6eig09Z6ZJQZn4MdsVdF"
    "1q0e0b8k2Lq5Bvm/XNHIc18Fz6fXqIWLaownnySuNt1nioramQfZcS2ssKaZlGazJC9oqw"
    "AtsCLi8LXiS2mvSle2zA411I88HVrO1cIVYjcMw2RzlU2z1K1WAlG4+WAiu0Wl4I1xBNsY"
    "fMD8FgMmHVFFEYTF7PsIXxDLcbZagnptgdchyQBsyVhX5cARNqK3oLCth1nFrA8gU20NS+"
    "0H++aFNoYzTXCNa+JO/4RTuBZ/MzDcwIZHkFDmS/5pWfN5DOcKj5ZortVGynZJSRYjvbbw"
    "jzqCMxlyMtJSHWteynVTTdc5aNFE58yrgRXZg5ws1R3VIs1CU5C0Ympv3C1IVsiPzIVLJr"
    "BgPnlWxrIsMoUHSpexKRCjt6JzGl8bxvMqBSG40JsGTlxCDaArjUP4AoyF2mPih1BU4CT0"
    "BbWC7BzobjflQwHtfDyH4GPljK1WjNDFbmaqjodL328MxyXKKzz2oPMy0nrCw1Zakdm4KV"
    "pdY6lUhoqRWWd+PGNHa01QTqvnV6wb4x35TyrShCDae0lXViEc2Ba+zQF4VaYGEQgm13s8"
    "grf6sa7WAAZoUhU6NqYQ0cFrnOO+1k4MU5yMrIa83kV2bkqf0MtVUTVJaesvSUpacsvZaq"
    "RBJL7yN9Nv62ovBKqU23hnhtw53MOKGdRMr4act8UGb8HJbhalEB5VpikIX5jMWbwRMiqq"
    "5vyuCpYos4q5ksZufbshK61eeOuEvLtoVe9q2Eetcrf9fdhTXjuFol2ogE2qEMdltplLGm"
    "gArNPLGAfHsMLro7zDwX3cKZh11Ko/sEDbzSPRc6YjROVk4+rKtnctjweA0pSsBdihSazQ"
    "s259d3j6XQLHW/rK+ihZq2QurYgd0rNalqn8Vv9Xdb7bNOniazI4bD1+T3zBTzNlbQV0/u"
    "1qmVwfnkF0D1n4pDiLF416n2qeiSon9aSf+o2FcDFhP8i0AHAVsQ54yYfLZpLZQbi9lDRx"
    "flNTNiEr7XtSTwEfqS5mGe0FY+zFF/KfAts4oGv03KOYTYKLq7H/0Udc8SCxnyEjzpooAn"
    "ZRToe4DOwCsooFRoo6RkmnNyX9drqlTm46qaVJXXpAKs1pAoaxDJNEgaxC1HyxrQmxKIiL"
    "4A7kLEwMjKSTEZ183rHlt5+tashO0mZfIZY6pq+sEiUzPLhvoUuPDqUsSwzIjJ4J02bVrG"
    "dFp+DRkgb5XLwUs7rJFwg5Xr19RJZgCK4d/5OBjdDkc/XWuh/Gf08eG+PxiPB7e0zcEGdF"
    "1ofkbve8M71jQDVniK8uFzGgAhcLUWOlAxKSKNkVqZ8R/re481PSuryiu2eU2HjoMdkSUl"
    "FlCLyR6LSUBgiia4ZcRkQL7uJYHPXBRDXEBYSIBt9aESNgTLx59ZJkS8s3zeU5u/iHXLy2"
    "YgnzHh4wO9BOTb+8ebu4H28WHQH46HoXcQrwL+xTSh8TDo3fEwdyBweVtCSqj8tJgMb3fj"
    "3DKDUPzUqoyYDMjXPWdbLjviczbT6Q2hw0755G6AKuVLC8dQp+PtzJ4modMN4Aq991xh+d"
    "7+6mnUFHDiM32BuAzINz3jp6BcOxZ2LCJUC7JwABm0UfvJhZ4NXZ2lp3Fn/5KUp6ygfGhX"
    "b8urXeBqF/gxqKSqXeAPg/HkYdiflG0DT/A11nxB6GO9sMp+mCo8DkeTCP5ay+xnYePkYn"
    "OQLU7Gjg56Sml1l/r6mCVbByWLfnDDqkSsEhHQWF1JaMbViU5cSN8+YAd9Xc1CGkZQmzvY"
    "W7NCRxoExiLqza2uX+etuIWRVts0dlUTqX0LxKmm8sJVXngLka6nFIPKkGuI41FJW99JgD"
    "cyekSX6rSccuuqcusS9tYLPTppz+46zfh06VexTUW9QuwngWKKvJNJGFt+3jMJ3q9dvJJi"
    "kF9Q5cugTyZi5ET9paszVZUZ2daSXoeeiOsmNSkUc+yInd+UkJEQ5Op5+uRj5XAujlNlxB"
    "pMjO0cwFqsJYkMO0THjgk5eXuF5lxaSGW8cq20wxgRD9Cl0PTDEzR5dkSmR6kp4fh99fhA"
    "zsNZE4ocVORgfoo4fqNuN9+6GOVSz1rhzONgWc65zvdOCqeTtNBeK17bCNiqt3grDvD74A"
    "DVxs2DbdxcAGTae31iaUm1i6rNH5iBV9S8N/dIoErKSbRGHYJjP4z31g9U2OG4bdGl0/LT"
    "uvxOTVQGTJr3bGey5980qgmYusqKYNCJx7+w7Rr6lia9UXTxCTtLgrGtJ6zaPwpKDCaO7F"
    "alBtvpNVomXK0xgcjY6EsolvScF5UuLlBLeTYHrm1htFNCEvLVtSC9Bg7HDCsvZxXJSFMh"
    "rIpKVgwUTk7s80g2XG/hCKBsK08nV0CwDbscvltLPTVzeA51vsQO2diKSPiy11GPjf5Mlx"
    "naU0GTIi0nQWi2gZRVshGrOrppujDmERHSBDjUfRV5Z7cSEk4NtdjAYYnLPMjFKRsJEQnm"
    "hKbTNQDRI658V/I9IdKOU76kOnKNvucOEFFHLNAOZUh15NqWXMxP+bvVV/R4PmWdExPt6k"
    "FTUAGd/zwOHlndxED6MxoPRpNrjRGt9P+P/f5gcMsuu55hQGjmKy1+Ro+jX0b3v46uNQ8t"
    "EX7y0+cOnwaYIHVzSiwPcKUlVQi51REuxKrlh0Uz99A1R1xFNNusb1ZyUC+uq1rO9OWEpc"
    "k3rYLxi4Jrgp9QQkx9Om3+dNJRUkEt54SVrtus65mFLHexl/mTEVV6brOeeWkOXJ+Fr+sC"
    "cfmqAlQfupkCYix0/8eJmiEZUYmCNlWYISqpuhYOO0BIvH5jVk6GuaFpqpWtkxRSl+gcl6"
    "WsKHVaThWk3qEgtU9Uua4wt52VexGnejyQ13MqELBsYQWkhBT6+6MfumripcFzgjLM9XXz"
    "zDb3GKbSylCRiCoM9UxhqJak0t/Zq0e/lA0nlz6+dlqWTG/bK92Lu9WbTW8CP0vGfwqVz9"
    "7SfHZxWkZFo46Ajgm/vV0X3LC7hClCr893WWfPi9fZ89yedn8+EwA3FpAR3joyBlUKbO0p"
    "sGsHs0AzwUuIRE6FzMlJE7isjN8yKEI29HPhheHlyiqI8xDzPPoS/ioS2JO42g/Ms7rgrJ"
    "m4MoCxgDyjvMyV3AopZ1KgyjBeCuIcCDSIceQSHS3E6gDXJiMMjFJiG5xXIsteWkgFzVpF"
    "OvWgYxmLDodyCq+clhFOYNunNTX2vhdq6YX2VjFptMfZYy89dazdDlotG5HYRyWAcNhdQn"
    "Rfn+9G4pSxODkap3CbV3FgsHiblyr5df1MXPCgi9m3/wMKnXaa"
)
