"""Vendored JavaScript is served locally under versioned names; Plotly's is the package's own."""

from pathlib import Path

import plotly
from django.contrib.staticfiles import finders
from django.core.management import call_command
from plotly.offline import get_plotlyjs_version

from tokenecon.staticfiles import HTMX_STATIC, PLOTLY_JS_STATIC


def test_plotly_js_is_found_in_the_installed_package_under_its_version():
    assert PLOTLY_JS_STATIC == f"vendor/plotly-{get_plotlyjs_version()}.min.js"
    found = Path(finders.find(PLOTLY_JS_STATIC))
    assert found == Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert f"plotly.js v{get_plotlyjs_version()}" in found.read_text()[:200]


def test_htmx_file_name_carries_the_version_inside_it():
    version = HTMX_STATIC.removeprefix("vendor/htmx-").removesuffix(".min.js")
    assert f'version:"{version}"' in Path(finders.find(HTMX_STATIC)).read_text()


def test_collectstatic_copies_plotly_js_under_its_versioned_name(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    copied = tmp_path / PLOTLY_JS_STATIC
    assert copied.read_bytes() == Path(finders.find(PLOTLY_JS_STATIC)).read_bytes()
    assert not (tmp_path / "vendor" / "plotly.min.js").exists()


def test_every_page_names_the_site_icon_served_from_static(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in html
    assert finders.find("favicon.svg")
