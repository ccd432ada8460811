"""The start-up heap is frozen while the app serves and unfrozen after."""

import gc

from server.lifecycle.heap import startup_heap_frozen


def test_objects_alive_at_startup_are_frozen_then_released() -> None:
    gc.unfreeze()
    built = [object() for _ in range(1000)]  # stands for the app's long-lived objects
    with startup_heap_frozen():
        assert gc.get_freeze_count() >= len(built)
        garbage: list[object] = [[] for _ in range(100)]
        garbage.append(garbage)  # a cycle made while serving is still collected
        del garbage
        assert gc.collect() > 0
    assert gc.get_freeze_count() == 0
    assert built
