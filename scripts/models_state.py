"""Print aerich's `MODELS_STATE` for the current models, for a migration written by hand.

aerich cannot generate some changes (a column's type or length on SQLite; PostgreSQL without a running
server): write the SQL by hand for both dialects and end each file with what this prints, so the next
`hub makemigrations` diffs against the models as they now are.

    python scripts/models_state.py >> migrations/sqlite/models/N_…py
"""

from __future__ import annotations

import asyncio

from aerich.utils import get_formatted_compressed_data, get_models_describe
from tortoise import Tortoise

from bot.db import tortoise_config


async def models_state() -> str:
    ctx = await Tortoise.init(config=tortoise_config("sqlite://:memory:"))
    try:
        return get_formatted_compressed_data(get_models_describe("models"))
    finally:
        await ctx.close_connections()


def main() -> None:
    print(f"\n\nMODELS_STATE = (\n    {asyncio.run(models_state())}\n)")


if __name__ == "__main__":
    main()
