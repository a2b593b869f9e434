"""Throwaway servers for the tests: PostgreSQL (bot.throwaway_postgres, which `hub makemigrations` uses too);
Redis lives in bot.embedded_redis."""

from __future__ import annotations

from bot.throwaway_postgres import PostgresCluster, PostgresUnavailable, pg_bindir, start_postgres

__all__ = ["PostgresCluster", "PostgresUnavailable", "pg_bindir", "start_postgres"]
