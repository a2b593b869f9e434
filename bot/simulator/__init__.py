"""A fake WorkTool cloud speaking the real protocol (`hub sim`): commands in, result/message/status callbacks out.

Start it with `create_sim_app(SimState(load_scenario(path), hub_url=..., token=..., time_scale=10))`.
"""

from __future__ import annotations

from bot.simulator.cloud import create_sim_app
from bot.simulator.scenario import (
    Override,
    ResultBehaviour,
    Scenario,
    ScenarioError,
    ScriptedMessage,
    load_scenario,
)
from bot.simulator.state import SimCommand, SimState

__all__ = [
    "Override",
    "ResultBehaviour",
    "Scenario",
    "ScenarioError",
    "ScriptedMessage",
    "SimCommand",
    "SimState",
    "create_sim_app",
    "load_scenario",
]
