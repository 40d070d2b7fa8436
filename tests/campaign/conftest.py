"""Shared small campaigns for the campaign tests (generated with their own seeds)."""

from __future__ import annotations

import logging

import pytest

from etalon.campaign.synthetic import simulate_campaign


@pytest.fixture(scope="session")
def small_campaign():
    """Three bands, seed 7."""
    return simulate_campaign(7, bands=["B1", "B4", "B11"])


@pytest.fixture
def written_campaign(small_campaign, tmp_path):
    """The small campaign written as 2 tables + PO + truth; returns (tables, po, truth)."""
    return small_campaign.write(tmp_path / "camp", files=2)


@pytest.fixture(autouse=True)
def _etalon_logger_restored():
    """``etalon.cli.main(... "-q")`` leaves the ``etalon`` logger at ERROR: restore it after each
    test so later tests' ``caplog`` sees warnings whatever the order."""
    log = logging.getLogger("etalon")
    saved = (log.level, log.propagate)
    yield
    log.setLevel(saved[0])
    log.propagate = saved[1]
