"""The site's pages rendered from their jinja2 templates (autoescaped HTML), by the index, run and pair writers."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from effbench import __version__


def render(template: str, **values: Any) -> str:
    """A page from the template of that name; every page is told effbench's version."""
    return _templates().get_template(template).render(version=__version__, **values)


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=PackageLoader("effbench.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
