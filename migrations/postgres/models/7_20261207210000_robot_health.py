from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "robots" ADD "health_score" SMALLINT;
        ALTER TABLE "robots" ADD "health_status" VARCHAR(16);
        ALTER TABLE "robots" ADD "health_checked_at" TIMESTAMPTZ;
        ALTER TABLE "commands" ADD "robot_reason" TEXT;
        CREATE TABLE IF NOT EXISTS "robot_health" (
            "id" BIGSERIAL NOT NULL PRIMARY KEY,
            "robot_id" VARCHAR(64) NOT NULL,
            "checked_at" TIMESTAMPTZ NOT NULL,
            "score" SMALLINT NOT NULL,
            "status" VARCHAR(16) NOT NULL,
            "components" JSONB NOT NULL,
            "recommendations" JSONB NOT NULL,
            "critical_since" TIMESTAMPTZ,
            "rules_version" VARCHAR(64)
        );
        CREATE INDEX IF NOT EXISTS "idx_robot_healt_robot_i_601f60" ON "robot_health" ("robot_id", "checked_at");
        CREATE INDEX IF NOT EXISTS "idx_robot_healt_checked_ccf232" ON "robot_health" ("checked_at");
        COMMENT ON TABLE "robot_health" IS 'A snapshot of a robot''s health (rules/health.yaml), taken every few minutes by the worker.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "robot_health";
        ALTER TABLE "commands" DROP COLUMN "robot_reason";
        ALTER TABLE "robots" DROP COLUMN "health_checked_at";
        ALTER TABLE "robots" DROP COLUMN "health_status";
        ALTER TABLE "robots" DROP COLUMN "health_score";"""


MODELS_STATE = (
    "eJztXetz2ziS/1dQ+rJOlcfnOJkk57q6KsVWMto4ss+PydTGVxxYhCyuKIDLRzyuvfzvB4"
    "Ck+AJpgiYpiMaXxALRoPRrPLob/fj3aE1MZHsHl+SO+KNj8O8RhmtE/8g+2Acj6DhJM2vw"
    "4Z3Ne7qsC2+Cd57vwjkbaAFtD9EmE3lz13J8i2DaigPbZo1kTjta+D5pCrD1rwAZPrlH/h"
    "K59MH3/6XNFjbRX8iLPzorY2Eh28x8U8tk7+bthv/o8LaTJXQ/8Z7sdXfGnNjBGie9nUd/"
    "SfCmO/02rPUeYeRCH5mpH8C+X/RL46bwu9IG3w3Q5kuaSYOJFjCw/dQPvjOStpFhzM6vja"
    "vJtWGMJCCaE8zgtbDv8d+/hn8ZNsL3/pJ+fPf2Z/ieBIewF3vh7+PLk9/Gl3vv3r5iLySU"
    "RyHrZtGTI/7oJx8C+jAchKOewMz/lwA67t8O1HFDgnUyw3oH++jXX2ugTXuVws2fMbwTfF"
    "1iI68I8N+vzmdigDcEOYRNa+6D/wO25fldIT36r0WA5wxEcBdYtm9h74C9779HHeFfATcD"
    "iI289rx/2WmU976O/8gz4OTs/COHjHj+vctH4QN8zDEDYQaPYGP5SCjqEIs5kqLK8eSOkn"
    "XFjHjT6Rf2j+fnZxnYP06vc2DffP04udx7zXlAO1k+b57OrnNgE2xbWLC3VGKdEDWDOkJN"
    "lQ2mH6Rt6PnGHNr2HZyvDOgXMT+liPnWGolBF9Hnd59ogIP4j0Hx4nr6dXJ1Pf56kWHI6f"
    "h6wp4c8dbHXOveu9wutBkEfJte/wbYR/CP89kkvzFt+l3/Y8S+Ewx8YmDyYEAzjUncHDcJ"
    "1pYxX0J8j8wGLBcOoHm+EzxH89XzeJ4eQPNcZZ4HeEUfYYMOSTESyJFT7IuZLaDMsZri1Z"
    "XsctiVvH7PvsEvR6/fvn/74c27tx9oF/4tNy3vK7hfcnDGSDU8N7PkejmpvJyWCNr+0vDm"
    "xBUIpldrKgKVLqg8baPVpBhvo/X05uj9u81SYh+qVtHV1/HZWXEpxfD40A8E+1S5QaFA2M"
    "iyoBqwGcPC63c17Aqv8wsjMSuwR0K0m8sCwgH05qXy5jV3EcO9AbOzlC1wWTk7Hv2B5jm2"
    "H6MZuCNsjxZLtQTomA25nqXUXFeF64LFzr89uwlZrFJGetbALDIP0DWNzJNkeoTHpoF+IC"
    "xSDz5G5J++XCIbcoCLcyF9J3TFx5uw4XZwRvyM10DcmsaWHJEycIuP1kfrfAvE8J7/JPZu"
    "9qY0br/x83RUdtUWPd5/8sLNWCY9n7p2G42Bh6HjLYkPyAJAwEf4mwfCMcCeG9jI+4/w08"
    "EjXNuv9oEPVwgDOl/cR7BAD2Bt4cBHHrh7BP4SgQfirpB7MMrB3fGrnr4m/B7BE97zpcQW"
    "2u975rPUheJH675U4BdeKQrE/GgXV/dGMRTy//Po6M2b90eHb959+PXt+/e/fjjciPzFR1"
    "UKwMfpZyb+Z7bGWB8ov2dMs6+uapCmGeB9Y1uXuykRsbE+0LoioBr0uyscFGXCRvaL5xku"
    "VGNni5YLeZPFM20VymHZsbFiTtYOwWIBtdwPIkvVvzPEdvaiTtweXETBXCNscg1AzhulSK"
    "pZ8QxW0O/oW3NoG56F54I9/ClDTp5am+xUPqi5VmRQBciLNO/akm+ecHhG8XakXwmjSec2"
    "gLTtpMwQkLOvPGUNKJh36hgFQqeOrJ4e3v0DNh46Zu3wAYSDg9jxB+xZPlXOifkILA8EmD"
    "I0oDs/nV37wCOA9qJDCgwDXb7uFls+e7xCjv8KEJcOFb3OQwgzS4JDbPqq+/DNU7wg0btr"
    "2hW0tUBNawGaI+tHI002R9qPKtsnh4Z0QGof0b58RB34aBMo2NTKZf8UiZb5nyHzeyRwRb"
    "J+hYFhQ9GfgWEUH8yjXsS/9s0M2sLcl4ydw7wI+CfiIusef0GPHPYp/YpQrLDm49F2DO6y"
    "C0faTEXejViZmWf019PfjMKN+mR8dTI+nYx+bkdvOSGYKZkw+t0FnSXzvFJfmad6dhA1+H"
    "20oixm467QY3jJp6V41aX4mGV1d+O4/wB34vaPO7YOZLANuw8Q2k7CNnVYbNdhsWQdolQA"
    "ufoaM0M4mIiGNu4xtX/oU2LaIEwmPOhkjTyPSnRNY1ay5PoOSWV+Oy6ZU3bR5Rk4PpETZ4"
    "u0g9kxexFtEy4w9c2BAYcS+5Ytu+xE9HrdKb3uQm7dSUnZGaLh3dm2Jgo28nWHtgU9UTIV"
    "GS/3tEVjzAbcXXGm6Oae12BaxGoGd1nyq4YqSXXVDlZDs2ZmwIpkx2fCNcV3JMDm13CwIW"
    "HVl7k23LyesNludrh6hlsjtcXW8DTBAJprC/+yhiYCa/oKCtjxxsGDeW08IhP8Sf/7E9wh"
    "m+B74BPwZ/qNf4I9dHB/AODCR8y7w0Xs17wSBKB0/DJtc94lwVzbnLXNeRCCsMiAJ6dyZK"
    "k01nJYa2PpoJX4jHAjezALiIcUO9XDQV3hOTLPeRY804Ek76iwYyyp60cimJKqupPMQkZX"
    "qiexUaGmdrIxaTytm0x41DkjYC7jqUHAEnpUP0A49CCnOihVBfZCTQAsLc8n7qNA/WhhPK"
    "GGkV8GHCytaiizg1WpGtpHoFsZbWG5nm+wZdVATCsQa0lNS2q7xmAtqSnHkgFKaqVVQoR3"
    "GjVlNYnyIaNxGL3HRSkuRflUcMpKWXuWD1zkEJdOFCqBRZcQLOjQ8l/xgEHaYQ6ZFIZNQN"
    "nCGkRpjDp8Uy0Bb+MJroU8ZTa/KiFPR5X0kLdIS3pa0tOSnpb0lGLJQCS9C/rdxMFd0ZNK"
    "mc5BxLFRLTFOKp5LCz+q7AdVws92LVwK1eHrxL5V6s9YHpKfItHl4TICTyt50ogtNd3j/g"
    "OU8dv3HfFWlm1LTfaEQs/11ue6t7QWAlWrghsxgRrMYK8dDDMcCqjUzrMhGF6MwZujGjvP"
    "m6PSnYc9yqL7wHJYGoGHXDkzTp5ueFi3b8lhwxMHUZSgt5KpV1Yk7E+vP9qVemVU/bJ+yK"
    "bLSoh09dr6+bJ03ZXyWf1i6650aafJRcQI7DXFmJlyu40V9jXS0TqdWnC+i+xg8TWXNu0o"
    "Z9rR91o9SEPoLx+5GNqSOOfIhid3vj76UMe8cPSh3L7AnuU0WsR8Lw1Zm2WObIDzuhPjpU"
    "8naRHma9oqhjnuPwh8qySeyR/X1faBjcBzdj77HHfPGw1yhkn4YMgCnqbRoDcAnYFXkqKq"
    "VEbJ0PSnwL7uVlRpTX/VWb9az/oFWTYnWYtATNOjQWDTsrMWAfpSH2HfWEJvKSNg5OkGsR"
    "l3bbPdtQIAypyEahtcit5gOi/91m6dFpaNjDvooXdvZQTLHNkQtNO+RUteF0d8hkxwsC74"
    "12UV1pi4x9oADlWSGYBy+I8uJrPT6ezzMYjob/HF5fnJ5Opqckrb4uSEt/jTeHrGmhaQzq"
    "1wxm3dXwH6Plo7orRQpVJqmmQwQmprwn+SjFL+TM/T6tSJKp/pyHWJK3OkbAj0YdLgMAkN"
    "mLLOazmyISDf9ZEgtlyUQ1xisBgAtu1flbAhmK/9wjKRsDLqJyrzl1ndirQ5yBeMePdArw"
    "D59Pzm49kEXFxOTqZX00g72JwC/GHWoHE5GZ+JMHcR9EThHhWm/CzZEGZ377ZlBqF8XbAc"
    "2RCQ73rPtjxWRHWxMOgLkcvqqAqDmyrtpaVj6PqDta2naeiMOfSk5r2QeHizv30zagY4+Z"
    "2+hHwIyPe942egdFyLuJYvleexdIAhcKPz2pC6EHuPsryO8NYR3rvAkrYivC8nV9eX05Pr"
    "qhDvlL3Gul/69Gs9M4N+5AZ8FY02IPg7TaGfh03gZy1AttzROi6lleFqndz5hDlSh+mI/u"
    "ZFGYdYliEIWM5IZG4yD+15iM4+aId9PWBhQDAC9y4JHJbECCA4X8a9hZnzu3yVMOnROnFR"
    "1/mO1Dsg9oH2C9d+4Qoi3YlfuPaQ68vGo522XsgFbyz0yB7VWTqt1rWl1qXkrWdqdIOty7"
    "Wf0+myU1GlhF0R9tchY8q0k+vobvlpzSScX3W0knKQn5HBa06/mYyQE/cfXA6ptsRIVdN1"
    "bXsj7tqoSaG4J65cbaYUzQBBbt9On/5aBZzL76lyZD06xo62IC124kRGXN8grokEfnul4l"
    "yWSHu8CqW07QgRl8ij0JxE1TFFckSuR6Uo4fK+xqbY5vakCW0c1MbB4hax+0JdPd26HOVK"
    "zXoAOHdiGeRu54ZYQSndUbJEjQ491WywbUd5azPgyzAD6tjNrcVuLiE27UZLLEupA6lUXm"
    "BzsqYSvtnAhypNN6Azahtm9u0ocCchC0cCzS1+tF9djIt36iPxX1rCZ8HJAX8pc/nYB7mn"
    "LA8G3Xj4g6RrpF6a9EXxwwfirnxCbCMl2PIHAl+sVEVu3oUEPv31iI0XLhtsecvouVYslV"
    "QsLROtHeIjPH80VkjOL7pIOrirg04yuLnIsaXRzhAN0KTdCdIOdAViWnXGq5hmMEnE2kh2"
    "xUARuM0+jWTPKRl2AEpVTXnDujNUIRDixUrymZ0jcKlyJldjIyEZ4GTvImUb/ZkeE8TvJE"
    "WKLN0Abm/7yL/7KJeY9LHv3Jk7ZLD2oUvVW5k5m1AMcGvoZL5GWTCLIJd7daRIBrAn9O3R"
    "AX0jtqXXNc6nSNQo8jWoimt0nrtQhh0bAjWYMaiKa4nxsbjl10vBGIh0yi43Jto1QKYkA0"
    "b/czO5YakVQ+pbfDWZXR8DZoilf9+cnEwmp+yxF8znCJnFZIy3+Gb2ZXb+bXYMArzC5IF7"
    "2G3fUzBl9C0wsfoCLEupr5iVvgHDLKF+lFezAa8F5PrGU2V+s6yERnnq1WpLX4F4MC6pbV"
    "j84ss3ySWUItNLR+Wlk71FleRygVjzWmVep++0JTmdI9V8VpnPIjcIoc4i5nUJuU4cUMs9"
    "+A7686XBf5+sJJIjHdC9TRuSiPa77sSMHSIkn+UxTzeE7aFvays7Kimknm8ItJaq1NVZOp"
    "22ukbaam6r8jxp83ae7llm1d2BvJvaQdCypRmQIdLoN0c/0tbkE4gXCIew13dtaraFxZoq"
    "80fFJDp9lET6qILfdm24c5TbRl3WyX47ybq4M5+8tJinG8IO0oe0qEhcyZm9vuGpnQSBJZ"
    "tn+1WRJba9NoJNt25DS0zIXcL4t9DBG4oGb8jbIPXV6w7YHqO1V1e0jLoP0B/u9WEdifKw"
    "XKI8LOR44PuZBLgbgiHC24XtVvt7d+7v7biEeVX4ZIWwTJXUAt1gbulbs+RSZcaxEQ/8kI"
    "ZXSKshLkIssl1VWGpjgoYm2mZgHnQFZ8cm2jmcL5FIKK/S4hOibSvwu2U2WclaS1Y9Yxyr"
    "RDsLsS5o3OddGjOesmj+tcyxlyXS18NKJTMZ28j1RwKLU/hgv8rcBFmXPtKYJE793GuYjg"
    "zDGkybxCKCiNyIiD9eWWFSFuLQeZZKR5J81AYsJQ1YgZxXVdBmBLxCWUbaVxHjFVEX2bi/"
    "1r9rgGsiM3Bk87dkiIaXJvTNYR1bEu1VjvNhwZbENnBZnNM0rciAKu0TXYCsU2Vs93RMu1"
    "fd/RPNpcLhUyQDiNTuI3uD5dtSxukNwSCPxnpnY9XhKDgdfWgJ7liqikjEFAOYw73r7OiH"
    "6Ear2kt+Q6Qzc6VVY742GsCZIdSQ7na0PxMgJTeH0fnFZHYMGOUtPhnPTiZnPJB/zn6VbU"
    "e5A7buTknm88B1Ef1OMva9HNVgpnd70R+JvWpOAlGmnfLQGgGpvjEspJAjtjUXKIEVye43"
    "FDrX/TO83RMDagH7ajezDKH2NlPa28yGnk9/iduI0QVizWylmR0dOI14nafVAewqc1pwlS"
    "bJb/EImusqc93zkRN6n0lIoVkiLeAXlFgetFeZCaLKRi4k11byxlbyEM6mFXqE5JobTbkR"
    "mjhKo9nq2XkKgyjsvDWiW/SnTwZFYnL5+2TGUzj6cLEwKB+Q+4PpPbf45mpyaVxOri7OZz"
    "zJY+AhlufBcwjmmR7po/Oz39kT2kjsH6zt63h2Mz47BnRaBtC+xZM/LqaXrAv6y2ECdhMb"
    "Uvt33xGrMBFF5lbV486QKcxflS6rNvZDycTueToNtyTcDXKb5mi1mKyymDy3IeWB9LLKUO"
    "lFVW9RRaA1WFIZSr2gVFtQKrk4T36wegVlfs7h0/0nnZ0NxDrWc3kefVtCHyzpiEzkAz4B"
    "EAM+yj6wMCCuidzwShCZ+1TM45do9K+NFW0/uR6kf4Zz/SAv5HX3lqcds7XPtJI+0+FMle"
    "VBmqorC89QeaETLgzw9MqwlRfckBEFE4oBugV2kMhrR5zUut+w2nCqopNPFBRZOVufERTZ"
    "zI3Ke/R8tB7truKi/Vg792NVSYM447tNmQZxFu9FT2kQfNOqqUFc8bo/YOGSNaAyeCjXe8"
    "ANbAQWFv2Hiv6eD13/l8ABew9ME2DdxhdTqgWYwITe8o7QXw+8JXl4VdQdOhj/GVpD12fA"
    "jmgPzQ+AcpWA/y9xHsT9Byi7tF9KGC585BprCwe+yG+2InFJgbLPDCbbEf1bSWGyhBhHm2"
    "hdh880jRpF+wZVQdFFc8uxYttYXaZkqTRbWmdL4JgNffmylAM0T9DJB81zbD9Gp/zumiv4"
    "t1dEUp4R31pYcxhxoyArZ55XSss41bODHCPfMwbPjRQZHRPsz83mFCYHKUlIEpXlCpOQJM"
    "RJFeqSrol3kU49os3oKu+TW7Gja3tgm/bA1MZU25UhIRmgEti+21tyWkiAnCEaIMzdJGjY"
    "HK11YU4ohojxu9d1MH73uhxj9iwX1+da9xY2GuwbRcrhuUG1v3vsYBS8g7DJIJNDfHQxmZ"
    "1OZ5+PQUTPy96HLV6q5Zp/9G/x6eRs+vuEuzlTFcH6gVzmCv1pPOXx86xsFXennn2ZnX+b"
    "HYMAr6hShOkYX6YXF9z3emU5jioB9k3LZ+vK2SWSTbOSyq3WUlbteNhdQ4bADddFDe1XWU"
    "rNZrXZrF2AXwCX2YHegMUpMs1flfmbK18vw+McqeazynzmFdRldMINgVYFn1YFHZf8sEwk"
    "5b6Xphkexu2rYTFeQuv+0zCLzftDQLqLel9N4/B1AH47Vym6QspL8VJl3mRX0EbeNfRWI5"
    "GnarbHfqW3KvdN81hnw6e9+63zAT3PuscI1aruEeZN8HiR6eSGPTEA6Bt2NW/YdXGPjmRI"
    "XRZBl0V4QRIOS54jtZF4z1CVVLMD93Lj7q1ClCRAzhANEOkOLoFXli11174hGIKg3r1dxS"
    "Ku5UudiWmaHq/WMXHX0B71AnT7xhUdFtm5wpmpSRFmjZRJ2J8m0ck8dTJPlWW7l+wZNb66"
    "mn7mCSQjc4h5i7+Np9e0l8ESSB6DB2j5tKvBJNpbPJ0ZF5fnny8nV1fHwMKG4xJ27+Pd4p"
    "Pzrxdnk2teciQsQs/GUrcQycb8I3FYp2mGJxB1Itjza754bknmuhPRatjrwc5RWzO/hqq0"
    "uFXTPEesgZcAvpGHQo5Ueyio7KHAFka8SmQE4wLdYHxtW5OOU4mqPWQ8TzorG2sXZbVULu"
    "9MGu9PVFDjbQv6a2kLm97nN9d0+dNdggS+GvJWlhPxBiYVLy4cQW+TKm+TufVXZHlF6hIB"
    "bcPkJbvD4DZyl3Dc5oQ4DBJ2+VMS6SqxgwpH63EPjWJuZPfQ36affzsGS+t+eYu/Tk6nN1"
    "+PwRqZVrC+xWfn346BTR6KkT1q7JdhQQfoc8W70X4pHkHvlyrvlyHPFsSmM9MInGfwvTiG"
    "5rzKnM97GEkyXUCu+b0T/JatlFYk1CpkXoV00Zr9jCZWmBypXkQqLyIdvPki2KxzzL0INm"
    "/uDZus5xyt3reV5rSucvZSOG0Tr0GRsxSRvnisWeOMYtbgsjdPp+EuhVuRIKxTaNmPl8gh"
    "rj8SRGClH+9XhV+ZrCPlPOtZs1rAOUbAJQ/AQS64CzwLI88DJnw85kn7F9Z9QLeOffbBco"
    "GLKPcZn2gLy+X/sORhWSD8Ya4H7okPLL9YM6Czt+h6Y0q75JWHcVHmi8WEEm9fKDo5MpJB"
    "E1F/q4youjSiB33eQ5oiWUSsPE163L//BOnbgayTVOhr6K7M6AKprmN6mmYQISx9O6cv/b"
    "VUJEDcX4PdAOwNPA30tjytNsYorbhtUmE2SX6Yo9Uq+g5w+tEoTx1aKuYKafV9VCGHaAyT"
    "dKaUIuUQFPS+zy1M8Y2naIP9TECutzTVtjRFrDMs7U1pJfjk4X6VZYYHtj+vDjxgYxyD6J"
    "pzH/yTWLw8exxkwAq1J39HTmL7iWMx+zO8CD84qFMRvvX3aVvNjtpq+OSVZUGKSFeGbxrI"
    "qivDD+Yw05Xh+wwF1rXMdS3zISTtUEQEHiPXmi9F8m/0pFL4hUmfLlNBSkmPL0V0fKbBo1"
    "woZJnoJA+xFMkAT7Fugs/popI5xsLuA0T39eFhHSHh8LBcSmDPCtkYfWH1vYqS4AmJvlmV"
    "vFnd6mH28/8BF0Zu6g=="
)
