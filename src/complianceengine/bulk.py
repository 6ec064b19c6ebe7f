"""Building hundreds of thousands of objects at once (reading events, judging a county).

CPython's cyclic garbage collector walks the young objects every few hundred allocations; while a
bulk step builds acyclic objects by the hundred thousand (models, dicts, tuples), those passes cost
more than the step itself (reading events took twice as long, an audit a third longer). The
objects are freed by reference counting as usual; only the cycle search waits.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk step builds hundreds of thousands of
    acyclic objects (nodes, dicts, models): its repeated passes over them cost more than the step
    itself. Reference counting still frees everything; cycles left over are collected after.

    On the way out what was made meanwhile goes straight to the oldest generation (``freeze`` and
    ``unfreeze``, both constant-time) rather than being walked once more by the young-generation
    pass that would start at once; the next full collection sees it as usual. Skipped when the
    program keeps frozen objects of its own (``unfreeze`` would release them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
