"""The demo implementation board: one card per process and clause."""

from __future__ import annotations

from ..services import implementation


def seed_board(users: dict) -> int:
    """Build the QMS implementation board; the number of cards added."""
    return implementation.build_board(users["quality"])
