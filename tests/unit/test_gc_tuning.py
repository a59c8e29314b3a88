"""reup_app/gc_tuning.py: the app and worker processes freeze what start-up built and run a full
collection at most once per REUP_GC_FULL_EVERY middle-generation collections (the load test's
numbers are in the module)."""

from __future__ import annotations

import gc

import pytest

from reup_app import gc_tuning
from reup_app.settings import reset_settings_cache


@pytest.fixture
def collector(monkeypatch):
    before = gc.get_threshold()
    yield monkeypatch
    gc.unfreeze()
    gc.set_threshold(*before)
    reset_settings_cache()


def test_start_up_objects_are_frozen_and_full_collections_are_rarer(collector):
    collector.delenv("REUP_GC_FULL_EVERY", raising=False)
    reset_settings_cache()
    gc.set_threshold(700, 10, 10)
    kept = [[i] for i in range(10)]  # alive at start-up: frozen, never walked again
    assert gc_tuning.tune_collector() == (700, 10, 100) == gc.get_threshold()
    assert gc.get_freeze_count() > len(kept)
    tracked = {id(obj) for obj in gc.get_objects()}
    assert id(kept) not in tracked and not any(id(x) in tracked for x in kept)


def test_the_threshold_is_a_setting_and_zero_keeps_cpythons_default(collector):
    collector.setenv("REUP_GC_FULL_EVERY", "0")
    reset_settings_cache()
    gc.set_threshold(700, 10, 10)
    assert gc_tuning.tune_collector() == (700, 10, 10)
    collector.setenv("REUP_GC_FULL_EVERY", "40")
    reset_settings_cache()
    assert gc_tuning.tune_collector() == (700, 10, 40)
