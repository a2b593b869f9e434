from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # One schema of limits (bot/limits.py): every column a value is copied into holds at least what the
    # edge accepts for it. Widening a VARCHAR rewrites no rows and keeps the indexes.
    return """
        ALTER TABLE "robots" ALTER COLUMN "name" TYPE VARCHAR(255);
        ALTER TABLE "conversation_aliases" ALTER COLUMN "created_by" TYPE VARCHAR(255);
        ALTER TABLE "people" ALTER COLUMN "name" TYPE VARCHAR(255);
        ALTER TABLE "commands" ALTER COLUMN "requested_by" TYPE VARCHAR(255);
        ALTER TABLE "commands" ALTER COLUMN "worktool_message_id" TYPE VARCHAR(128);
        ALTER TABLE "alerts" ALTER COLUMN "dedup_key" TYPE VARCHAR(308);
        ALTER TABLE "alerts" ALTER COLUMN "open_key" TYPE VARCHAR(308);
        ALTER TABLE "alerts" ALTER COLUMN "subject" TYPE VARCHAR(255);
        ALTER TABLE "alerts" ALTER COLUMN "title" TYPE VARCHAR(322);
        ALTER TABLE "alerts" ALTER COLUMN "cancelled_by" TYPE VARCHAR(255);
        ALTER TABLE "alerts" ALTER COLUMN "claimed_by" TYPE VARCHAR(255);
        ALTER TABLE "alert_events" ALTER COLUMN "actor" TYPE VARCHAR(255);
        ALTER TABLE "notifications" ALTER COLUMN "recipient" TYPE VARCHAR(255);
        ALTER TABLE "notifications" ALTER COLUMN "target" TYPE VARCHAR(261);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "open_key" TYPE VARCHAR(308);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "user" TYPE VARCHAR(255);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "assignee" TYPE VARCHAR(255);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "auto_assigned_by" TYPE VARCHAR(255);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "closed_by" TYPE VARCHAR(255);
        ALTER TABLE "task_events" ALTER COLUMN "actor" TYPE VARCHAR(255);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    # Fails on a row longer than the old limit (never truncates a name or a unique key silently).
    return """
        ALTER TABLE "task_events" ALTER COLUMN "actor" TYPE VARCHAR(128);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "closed_by" TYPE VARCHAR(128);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "auto_assigned_by" TYPE VARCHAR(64);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "assignee" TYPE VARCHAR(128);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "user" TYPE VARCHAR(128);
        ALTER TABLE "after_sales_tasks" ALTER COLUMN "open_key" TYPE VARCHAR(255);
        ALTER TABLE "notifications" ALTER COLUMN "target" TYPE VARCHAR(160);
        ALTER TABLE "notifications" ALTER COLUMN "recipient" TYPE VARCHAR(128);
        ALTER TABLE "alert_events" ALTER COLUMN "actor" TYPE VARCHAR(128);
        ALTER TABLE "alerts" ALTER COLUMN "claimed_by" TYPE VARCHAR(128);
        ALTER TABLE "alerts" ALTER COLUMN "cancelled_by" TYPE VARCHAR(128);
        ALTER TABLE "alerts" ALTER COLUMN "title" TYPE VARCHAR(255);
        ALTER TABLE "alerts" ALTER COLUMN "subject" TYPE VARCHAR(128);
        ALTER TABLE "alerts" ALTER COLUMN "open_key" TYPE VARCHAR(255);
        ALTER TABLE "alerts" ALTER COLUMN "dedup_key" TYPE VARCHAR(255);
        ALTER TABLE "commands" ALTER COLUMN "worktool_message_id" TYPE VARCHAR(64);
        ALTER TABLE "commands" ALTER COLUMN "requested_by" TYPE VARCHAR(128);
        ALTER TABLE "people" ALTER COLUMN "name" TYPE VARCHAR(128);
        ALTER TABLE "conversation_aliases" ALTER COLUMN "created_by" TYPE VARCHAR(128);
        ALTER TABLE "robots" ALTER COLUMN "name" TYPE VARCHAR(128);"""


MODELS_STATE = (
    "eJztXW1z2ziS/isofdlMlSflOJkk67q6KsVWMrpxZJ9lz0zteIsDi5DEFQVw+RKPay///Q"
    "CQFN9AmqBJioLxZcYh8YDi0yDQ3Wh0/2e0JSayvdfX5J74o1PwnxGGW0T/yN44AiPoOMll"
    "dsGH9zZv6bIm/BK893wXLlhHS2h7iF4ykbdwLce3CKZXcWDb7CJZ0IYWXiWXAmz9O0CGT1"
    "bIXyOX3vjjn/SyhU30F/LifzobY2kh28z8Ustkz+bXDf/R4dfO1tD9zFuyx90bC2IHW5y0"
    "dh79NcG75vTXsKsrhJELfWSmXoD9vuhN40vhb6UXfDdAux9pJhdMtISB7ade+N5Iro0MY3"
    "Z5Y8wnN4YxkqBoQTCj18K+x99/C/8ybIRX/pr+8/277+FzEh7CVuyBv46vz34eX796/+4H"
    "9kBCZRSKbhbdOeG3vvMuoA/DTjjrCc38/xJEx+3boTq+kHCdjLDeyT756acabNNWpXTze4"
    "zvhF+X2MgrEvw/88uZmOAdIMewaS188H/Atjy/K6ZH/7UM8IKRCO4Dy/Yt7L1mz/vvUUf8"
    "V9DNCGI9bz3v33aa5Vdfx7/nBXB2cfmJU0Y8f+XyXngHn3LCQJjRI5hYPhHKOsRiiaRQOZ"
    "ncU1hXwognnX5p/3R5eZGh/dP0Jkf27ddPk+tXb7gMaCPL55ens5sc2QTbFhbMLZVcJ6Bm"
    "VEesDWWC6YdpG3q+sYC2fQ8XGwP6Rc7PKWO+tUVi0kX4/OwTdfA6/kMpWdxMv07mN+OvVx"
    "mBnI9vJuzOCb/6mLv66n1uFtp1An6b3vwM2D/BPy5nk/zEtGt3848R+00w8ImByYMBzTQn"
    "8eX4kuDbMhZriFfIbCByYQda5gchc7TYPE/m6Q60zIcs8wBv6C1s0C4pRwI9cop9sbAFyJ"
    "yoKV9d6S7HXenrK/YLfjx58+7Du49v37/7SJvwX7m78qFC+iULZ8xUw3UzC9ef05A/p4WL"
    "GO8NRJ1FtiDlwZnC9AXNS2w/RiPwQMQefSzVk6hjNpR6FqmlPhSpCz52/uuZM3G5Sfm52A"
    "Vm1DxA1zQyd5Lh4fnQDzwDfUNYtMJ+iuCff7lGNuQEF8dC2q065/1NWHcHOCK+x99AfDXN"
    "LTkhZeQWb21PtvkrEMMVfyX2bPakMt7KXNY5bp/wXhsF0T7pyh6NQWgTAbIEEPBu/uaBUH"
    "UGrD90yq7DBxB2DmK7GbyyfA/cE/MRWB4IMKU62NLnIvMIeATQVrTLUU4GHT/uDls+u71B"
    "jv8DIC7tKnqchxAG94/AITZ91Cp88hQvSfTs16Oj1r33n6xVqboq9N8LNNRovh+u+z7UUP"
    "9+cvL27YeT47fvP/707sOHnz4e71TV4q0qnfXT9AtTWzOTaKzHljv1XbRA1rdGS14O2s+a"
    "16eEDneJK3MJaBdr9y5WBz7aBAomtfKNnBSk/62c/RDeyaaNRwJ3IbVHmSD626UcxQtzV3"
    "tl2b3KN+9rbFW+yc9NyU4lu5XfqGQak9yuexqj4IZwO7vvBaMkx3mR8M/ERdYK/4IeOe1T"
    "+hMhFg7ofDjHgdFdZmzQy1Tl3amVmXFG356+Mwon6rPx/Gx8Phl9Lzf0urRbzgj+hlwPRu"
    "9dsFky9yvtlUWqZQdBN3+MNlTErN8Nehz9U2vxh6DFxyKrOxvH7RWcidtf7th3IMNt2FxB"
    "ajuJetJRZV1HlZFtyFKB5PmWKqKlM3QGqMyG4NuTD+93UzP7R9VkPP86vrgoWnh6b+gpNU"
    "0Jlwnfs90iz6MaXdMt3yxcb/kOWd6OSxZUXPTzDByfyKmzRawyM2Yvqm0iBWa+OTDgVGLf"
    "smU/OxFef3eD/u5Cad1LadkZUCNdcGAS7UgVbLTPDW0LeqKzCDI73GmPxph1eLjqTHGLO2"
    "/BtMjVDB6y5ldNVXJSrB2uVPNmZsiKdMdn0jXF9yTA5tewM5W46stdG05eT/hsdzNcPcet"
    "kZpia0SaYADNrYV/3EITgS19BCXsdBfgwaI2HpEJ/qT/+xPcI5vgFfAJ+DP9xD/BK/R69R"
    "rApY9YdIeL2Nv8wKM3snEmHT9M+5wPSTHXPmftc1ZCERY58ORMjixKcy3HtXaWKm3EZ5Qb"
    "2YVZAO7PfabEQl0RObLIRRY8M4AkH6hwYCKpG0ciGJJDDSeZhYKuNE9ip0JN62Tn0njaNp"
    "lQ1CNgABYynuoErKFH7QOEwwhyaoNSU+BVaAmAteX5xH0UmB8t9Ce0MPKfASdLmxqDmcGq"
    "TA0dI9Ctjra0XM832GfVQE0rgLWmpjW1QxOw1tQGJxIFNbXSJHvCPY2auppE9r3RODy9x1"
    "UprkX5VHHKalmvLB+4yCEuHShUA4s2IdihQ8v/gR8YpA0WkGlh2ARULOyCwIvc5ZNqKXi7"
    "SHCt5A1m8qtS8vSpks5yOmpNT2t6WtPTmt5ARaKIpndFf5v4cFd0p1KncxBxbFRLjZM6z6"
    "WVn6HMB1XKz349XANKY92Jf6s0nrH8SH4KorMrZxSeNg7qs8zVcnq+rapDt/3YEW9j2bbU"
    "YE8Qeqy3Pta9tbUUmFoV0ogBwxAGe6wywnAooVIzzw6g3hmDtyc1Zp63J6UzD7uVZfcBLc"
    "jWCDzkyrlx8jj1uG7fk8O6Jw6iLEFvI5Putwjsz64/OZR0v9T8sr7JpstKQLr4Q/18WTrn"
    "avmofrE5V7v00+ROxAj8NcUzM+V+Gytsa6RP63TqwflD5AeLt7m0a2dwrh29r9WDNoT+8p"
    "GLoS3Jcw6mnt755uRjHffCycdy/wK7l7NoEYu9NGR9ljmYguO6E+elTwdpkeYbelVMc9xe"
    "CX6rNJ7J7zfV/oGdwnNxOfsSN887DXKOSfhgyBKexmjSG5DOyCtJUVWqo2Qw/Rmwb7pVVV"
    "qzX3XWr9azfkGWzUnWIxBjenQI7K4crEeAPtRH2DfW0FvLKBh5nBKTcdc+20MrADCYlXDY"
    "DpdiNJjOS7+3XaelZSPjHnro/TsZxTIHU8E67Vu15HVxxGvIBAfbQnxd1mCNwT3WBnCokc"
    "wIlON/dDWZnU9nX05BhL/DV9eXZ5P5fHJOr8XJCe/w5/H0gl1aQiuqU73/eAXo+2jrSJWs"
    "TEOUUVJbU/6TZJTya3oeq1MnDnlNR65LXJklZQfQi0mDxSR0YMoGr+VgKjDf9ZIg9lyUU1"
    "zisFCA2/a3SlgXLNZ+aZkIi6olfaY6f5nXrYjNUb5k4MMjvYLk88vbTxcTcHU9OZvOp5F1"
    "sFsF+M2sQ+N6Mr4Qce4i6ImOe1S48rMwFUZ3775lRqF8XbAcTAXmu56zLY8VUV0uDfpA5L"
    "I6qsLDTZX+0tI+dP3B2t7TNHXGAnpS414IVm/0t+9GzRAnP9OXwFVgvu8ZP0Ol41rEtXyp"
    "PI+lHaggjc5rQwY28gwWniac/StCnvJA9dhuX5fXJ7z1Ce9DEElbJ7yvJ/Ob6+nZTdUR75"
    "S/xlqtffqznplBPwoDnke9KUR/pyn087QJ4qwFzJYHWseltDJSrZM7n7BA6jAd0d+8KOMQ"
    "yzIEAcsZicxd5qFXHqKjD9phWw9YGBCMwMolgcOSGAEEF+u4tTBzfpePEiY92iYh6jrf0f"
    "AWiCOg48J1XPgAme4kLlxHyPXl49FBWy9kgzdWemSX6ixOm3VtmXUpfeuZFp2ydbmOcjZd"
    "digOKWFXxP1NKJgy6+Qm2lt+2jIJx1cdq6Sc5Gdk8FrQXyaj5MTtlcsh1ZYaOdR0XfueiL"
    "t2alIqVsSVq82UwihIcvt++vTPKvBcvk+Vg/UYGDvag7bYSRAZcX2DuCYSxO2VqnNZkI54"
    "FWpp+1EirpFHqTmLqmOK9Ihci0pVwuVtjV2xzf1pE9o5qJ2DxSni8JW6erZ1OcuVlrUCPH"
    "fiGeRh54bYQCmdUbKgRove0HywbZ/y1m7Al+EG1Gc393Z2cw2xaTf6xLJIfZBqyB/Ygmyp"
    "hm82iKFK4xRao/bhZt+PAXcWinAksNziW0fVxbh4oz4S/6U1fHY4OeAPZSEfRyB3l+XBoB"
    "MPv5E0jcxLkz4ovvlA3I1PiG2kFFt+QxCLlarIzZuQwKdvj1h/4WeDLW8d3deG5SANS8tE"
    "W4f4CC8ejQ2Si4suQpXbOugkg5uLHFua7QxIQZd2J0w70BWoadUZr2KMMknE2kh2xUgRhM"
    "0+zWTPKRkOgMqhuvLU2jMcwkGIF6vJZ2aOwKXGmVyNjQSi4GDvImUbfU2PKeL3kipFFqfA"
    "7m0f+Xcf5RKTPvadO/OAHNY+dKl5KzNmE4SCU0Mn4zXKglkkuTyqIwVRYE7oO6ID+kbsS6"
    "/rnE9BhlHkS6mKa3Scu1BGHDvAMIShVMW1xPlYnPLrpWAMRDZllxMTbRogU1IAo/+9ndyy"
    "1Ioh+g7PJ7ObU8AcsfTv27OzyeSc3faCxQIhs5iM8Q7fzn6ZXf42OwUB3mDywCPs9h8pmH"
    "L6FoRYvQGWReot5kHvgGGWUD/Kq9lA1gK43vEcsrxZVkKjPPVqtaevAFYmJLUNj1+8+Sb5"
    "CaVg+tMZ8qeT3UWVlHIBrGU9ZFmn97QlJZ2DajkPWc6iMAihzSKWdQlcJw6oFR58D/3F2u"
    "DvJ6uJ5KAK7du0oYnouOtO3NghQ/JZHvM4FaaHvr2tbKmklHq+IbBaqlJXZ3E6bXWNtNXc"
    "V+V50u7tPO5ZbtXDobyb2kHQsqUFkAFp9puzH1lr8gnEC0AV5vquXc22sFhTZf6oGKLTR0"
    "mkjyrEbdemO4fcN+uyQfa9sT2Qsw0X9vaWpxcSHG7Y3TuqOt1g21sj2DXr9niDCXlYEv8V"
    "+gDBQA8QyPvB9PbfAfi/om+vrnoTNVcwJuvNcR2t5rhcqzku5Bng85kEuTuAivR24T/UMc"
    "edxxw7LmE7+z7ZICxTqbOAU2anuDVvIlWoHRvxwwfS9AqxmuIixSL/SYW3MAY0dBM2I/N1"
    "V3R27CZcwMUaiZTyKksyAe3biDws030ja7FveuY4NokOlmJdVLfP/RzmwGMnyrcyy14WpL"
    "coB+V0GtvI9UcCj1N446jK3QRZkz5SaSSB5TxylfYMwzpAu+QWglOhEYjf3lhhYhDi0HGW"
    "SomR/FM7sAbpwArkInuCNk9hDyjTRfsmYvxF1GU2bq/t7xrkmsgMHNkcIhmQeqkq3x7X8S"
    "XRVuU8Hxd8SWwCl+U5jWlFBxzSPNEFyTpdw35Xx3SIz/2/0ELqSHYKosBp4T4yCFi+LVd9"
    "PgYouTTWWxurFkfB6uhDS7DHUlXIIEYoMIZ7t9nRN9GOVnWk9g6ks0OlTWP+bTSgMwPUlB"
    "72iXOmQEpODqPLq8nsFDDkHT4bz84mF/ww+YK9lW1H59f3HtJHFovAdRH9TTL+vRxKmeHd"
    "3gmExF+1IIEo20v58Q4BVO8YFtKYEdtaCIzAioTrO4TOt/6MiOvEgVrgvjrMLAPU0WaDjj"
    "azoefTN3EbCboA1sIetLCjBaeRrPNYfYh6yJIWbKVJylvcg5b6kKXu+cgJo88ktNAsSCv4"
    "BSOWHxyrzEZQ5SMXwrWXvLGXPKSzaZUYIVxLo6k0QhdH6fn7en6eQicDDt4a0Sn682eDMj"
    "G5/nUy42kEfbhcGlQOyP3G7J47fDufXBvXk/nV5YwnGgw8xHINeA7BPNsgvXV58Su7Qy8S"
    "+xu79nU8ux1fnAI6LANo3+HJ71fTa9YE/eUwBbuJD6n9ve9IVJiITodW1YTOwAYs3yFtVu"
    "38h5LJxfM4Tbck3Q3ya+awWk0espq8sCGVgfRnlUHpj6reRxWR1uCTyiD1BzW0D2pIIc6T"
    "byxnflmcc3j36MlgZwOxhvVCnke/raEP1rRHpvIBnwCIAe/lCFgYENdEbrgliMwjqubxTT"
    "T6186LdpRsD9I/w7H+Oq/kdfcUXY5+0BZWxaF/PlJlZZBGdeXhUVUWOuGCgqtXRqy86IOM"
    "KpggFAwL7CCZ1IEEqXU/YbURVEUHn+hQZOVofcahyGZhVN6j56Pt6HANFx3H2nkc65AsiA"
    "s+25RZEBfxXPSUBcEnrZoWxJzXngFLl2wB1cFDvd4DbmAjsLTof6jq7/nQ9X8MHPDqgVkC"
    "rNn4akqtABOY0FvfE/r2wFuThx+KtkMH/T/Dauh6DTgQ66H5AlBuEvD/S6wHcXsFdZf2y9"
    "nCpY9cY2vhwBfFzVYkLikg+8xgsh/Vv5UUJmuIcTSJ1g34TGOGUThOqSp+LlpYjhX7xuoK"
    "JYvSYmldLIFjNozlyyIVdE/QwQfNS2w/Rqv84bor+K8fiKY8I761tBYwkkZBV87cr9SWca"
    "plBzlG/sg4PHdaZLRMsD93k1OYHKQkIUlUGipMQpKAk0rIJU2T6CKdekS70Yc8T+7Fj679"
    "gW36A1MTU+1QhgSioBHYfthbslpIkJwBKUhzNwkadktrXZoThIocv39Th+P3b8o5Zvdy5/"
    "pca2Vho8G8UUSqFwbV/uxxgKfgHYRNRpkc46Oryex8OvtyCiI8L70eXvFSV3bF2M8nF9Nf"
    "JzzMmZoI1jfk1inGTvv4ZXp1xWOvN5bjDOWAfdMSzrp6c4lm06ysb6v1fIe2PByuI0MQhu"
    "uihv6rLFKLedhi1iHAL0DKbEFvIOIUTMt3yPLV1ddfhpx5FW8Zm3AH0Kbg06ag45Jvlomk"
    "wvfSGPU4bt8Mi/kSevefplns3leB6S7qfTU9h68P4LezlaIrpLyUKFUWTTaHNvJuoLcZiS"
    "JVsy2OKqNVeWyaxxobPm3db50P6HnWCiNUq7pHmDfB44WOkx32xAGgd9iHucOui3t0pEPq"
    "sgi6LMIL0nBY8hypicR7hqk0ND9wLzvu3iZkSYLkDEhBpjvYBN5YttRe+w6ggqLevV/FIq"
    "7lS62JaUyPW+uYuFtoj3ohun3nij4W2bnBmalJEWaNlEnYn4boZJ46meeQdbuXHBk1ns+n"
    "X3gCycgdYt7h38bTG9rKYAkkT8EDtHza1GAa7R2ezoyr68sv15P5/BRY2HBcwvZ9vDt8dv"
    "n16mJyw0uOhEXoWV/DLUSyc/9ILNZpjHoKUSeKPd/mi8eWZK47EVbTXo92ztqWxTVUpcWt"
    "GuY5sCZegvhGEQo5qI5QGHKEAvsw4q9ERjEu4JSJtW1NO04lqvaQ8TztrKyvQ9TVUrm8M2"
    "m8P1NFjV9b0relV9jwvry9oZ8/nSVI4A9D38pKIp7ApM6LC3vQ0+SQp8nc91cUeUXqEgG2"
    "YfKSwxFwG7lLOG8LQhxGCdv8KTnpKjGDCnvrcQ6NztzIzqE/T7/8fArW1mp9h79Ozqe3X0"
    "/BFplWsL3DF5e/nQKbPBRP9gxjvgwLOkCfG96N5ktxD3q+HPJ8GcpsSWw6Mo3AeYbci31o"
    "yQ9Z8vkII0mhC+Ba3gchb9lKaUWgNiHzJqSLtuw1mnhhclD9EQ35I9KHN1+EmHWOuRch5t"
    "2+YZPvOYfV8/agJa2rnL0USdvEa1DkLAXSG481a5xRzhps9uZxmu5SugdyCOscWvbjNXKI"
    "648EJ7DSt4+qjl+ZrCGVPGtZs1rAJUbAJQ/AQS64DzwLI88DJnw85Un7l9YqoFPHEfuH5Q"
    "IXUekzOdErLJf/w5ofywLhi7keWBEfWH6xZkBnT9H1xgYdkld+jIsKX6wmlET7QtHKkdEM"
    "mqj6exVE1aYRXejzEdKUySJj5WnS4/b9J0jfD2WdpELfQndjRhtIdQPT0xgljrD0HZy+9r"
    "dSJwHi9prsBmTv6Glgt+Wx2hkzaMNtlwqzSfLDHFab6Acg6UejPHVoqZorxOr9qEIO0Zgm"
    "6UwpRaQKBnrf6xam/MZDtMF8JoDrKW1oU9pAvDMs7U1pJfjk5lGVZ4YfbH9eHXjA+jgF0T"
    "bnEfgXsXh59viQASvUnvwdBYkdJYHF7M9wI/z16zoV4Vt/nvbVHKivhg9eWRGkQLoyfNOD"
    "rLoyvDKLma4M3+dRYF3LXNcyVyFpx0BU4DFyrcVapP9GdyqVX5i06TIVpJT2+FJUx2c6PM"
    "qVQpaJTnIRS0EUXMW6OXxOPyqZZSxsriC7b46P6ygJx8flWgK7V8jG6Aur71WUBE8gemdV"
    "cmd1r4vZ9/8Hu89Pgg=="
)
