"""The /docs page's two Swagger UI files, read from the package (make package copies them
there from the swagger-ui-py registry package, infra/package.py) or, in a development tree
without a package, from that installed package itself."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"


def installed_dir() -> Path | None:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@lru_cache(maxsize=4)
def read(name: str) -> str | None:
    """One asset's text (None if neither the package nor the tree has it)."""
    for folder in (PACKAGED, installed_dir()):
        if folder is not None and (folder / name).is_file():
            return (folder / name).read_text(encoding="utf-8")
    return None
