"""The shared contract over every channel of the registry (bot/channels/registry.py).

A channel's driver lives beside its test data, tests/channels/data/<name>/driver.py: adding a
channel adds its package, its registry line and that folder, and this suite runs over it,
conversation, replay, forged requests and redaction alike.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.channels import registry
from tests.channels import contract

DATA = Path(__file__).parent / "data"
DRIVERS = [spec.name for spec in registry.SPECS if (DATA / spec.name / "driver.py").exists()]
CASES = [
    (name, variant)
    for name in DRIVERS
    for variant in importlib.import_module(f"tests.channels.data.{name}.driver").VARIANTS
]
IDS = [f"{name}-{variant}" for name, variant in CASES]
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def driver_module(name: str) -> ModuleType:
    return importlib.import_module(f"tests.channels.data.{name}.driver")


@pytest.fixture
def env(db_url: str, db: Any, cipher: Any, engine: Any, matcher: Any, clock: Any) -> contract.Env:
    return contract.Env(db_url, db, cipher, engine, matcher, clock)


def test_every_channel_has_a_driver() -> None:
    assert set(DRIVERS) == {spec.name for spec in registry.SPECS}


@SQLITE_ONLY
@pytest.mark.parametrize(("name", "variant"), CASES, ids=IDS)
async def test_contract(name: str, variant: str, env: contract.Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with driver_module(name).open_driver(env, variant) as driver:
        await contract.run_contract(driver)
        if getattr(driver, "send_forged", None) is not None:
            await contract.scenario_forged(driver)
    contract.assert_redacted(caplog.text)


@pytest.mark.parametrize("name", [name for name in DRIVERS if getattr(driver_module(name), "REPLAYS", True)])
async def test_replay_is_answered_once_on_every_database(name: str, env: contract.Env) -> None:
    module = driver_module(name)
    async with module.open_driver(env, module.VARIANTS[0]) as driver:
        await contract.scenario_replay(driver)
