"""Fixtures for unit tests."""

import pytest

from tests.unit.world import World


@pytest.fixture
def world() -> World:
    """A fresh world of memory adapters."""
    return World()
