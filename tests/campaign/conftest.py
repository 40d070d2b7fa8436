"""Shared small campaigns for the campaign tests (generated with their own seeds)."""

from __future__ import annotations

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
