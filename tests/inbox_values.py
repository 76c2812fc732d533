"""Every value the project's inbox modules hold at module level, alone or in their tables (tuples and
lists, a few levels deep): for tests that check each pattern the code defines. Not gc.get_objects():
intake freezes the collector's objects, which that then leaves out."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import inbox.reading  # noqa: F401  (imports every module that defines the project's patterns)


def inbox_values(max_depth: int = 3) -> Iterator[object]:
    def visit(value: object, depth: int) -> Iterator[object]:
        yield value
        if isinstance(value, tuple | list) and depth < max_depth:
            for item in value:
                yield from visit(item, depth + 1)

    for name, module in list(sys.modules.items()):
        if name.startswith("inbox.") and module is not None:
            for value in list(vars(module).values()):
                yield from visit(value, 0)
