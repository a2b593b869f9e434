"""Who spoke: robot / staff / operator / manager / user. Pure."""

from __future__ import annotations

from bot.rules.people import Directory, SenderRole


def resolve_sender_role(sender_name: str, directory: Directory) -> SenderRole:
    """Our robots by their configured names, staff by the directory (names and aliases), else a user."""
    return directory.role_of(sender_name)
