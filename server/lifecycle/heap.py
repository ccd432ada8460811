"""The start-up heap kept out of the garbage collector's scans while the app serves (gc.freeze).

Once the app is built, a quarter of a million long-lived objects (LangGraph, LangChain, pydantic
schemas, the clients) would be traversed by every full collection, a pause of tens of
milliseconds that lands on some turn. Frozen, they are skipped; turns' own garbage is collected
as before.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """Freeze what exists now for the block's duration (unfrozen at exit, for tests' processes)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
