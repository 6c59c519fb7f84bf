"""Plotly's JavaScript served straight from the installed ``plotly`` package, under a name that
carries its version, so the figures the Python side builds and the library that draws them can
never drift apart (a copy in static/ would go stale at the next upgrade of the package)."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from plotly.offline import get_plotlyjs_version

PLOTLY_JS_FILE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_JS_STATIC = f"vendor/plotly-{get_plotlyjs_version()}.min.js"
HTMX_STATIC = "vendor/htmx-2.0.7.min.js"


class _PlotlyStorage(FileSystemStorage):
    """The package's folder, where the versioned name opens ``plotly.min.js``."""

    def __init__(self):
        super().__init__(location=str(PLOTLY_JS_FILE.parent))
        self.prefix = str(Path(PLOTLY_JS_STATIC).parent)

    def path(self, name):
        return str(PLOTLY_JS_FILE) if name == Path(PLOTLY_JS_STATIC).name else super().path(name)


class PlotlyJsFinder(BaseFinder):
    """Finds exactly one static file, ``PLOTLY_JS_STATIC``, in the plotly package."""

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PLOTLY_JS_STATIC:
            return [] if find_all else None
        return [str(PLOTLY_JS_FILE)] if find_all else str(PLOTLY_JS_FILE)

    def list(self, ignore_patterns):
        yield Path(PLOTLY_JS_STATIC).name, _PlotlyStorage()
