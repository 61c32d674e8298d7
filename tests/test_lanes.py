"""The test lanes (README): the real model and the fake Discord are in the full lane only."""

from __future__ import annotations

import pytest

from tests.conftest import FULL_LANE_FIXTURES, pytest_collection_modifyitems

FAST = "not integration and not slow"  # what ./run test --fast passes to pytest -m


class _Item:
    """The part of a collected test item that the lane hook reads and writes."""

    def __init__(self, *fixturenames: str) -> None:
        self.fixturenames = fixturenames
        self.markers: list[str] = []

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker.name)


@pytest.mark.parametrize("fixture", sorted(FULL_LANE_FIXTURES))
def test_a_full_lane_fixture_puts_the_test_in_the_full_lane(fixture):
    item = _Item("tmp_path", fixture)
    pytest_collection_modifyitems([item])
    assert item.markers == ["integration"]


def test_a_test_with_the_fake_encoder_stays_in_the_fast_lane():
    item = _Item("tmp_path", "fake_encoder", "world")
    pytest_collection_modifyitems([item])
    assert item.markers == []


def test_the_run_script_passes_the_fast_lane_s_marker_expression():
    from tests.conftest import ROOT

    assert f'--fast" ]]; then args+=(-m "{FAST}")' in (ROOT / "run").read_text()
