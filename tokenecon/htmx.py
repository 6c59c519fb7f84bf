"""The one htmx idiom of every page: a view renders its fragment for an htmx request and the
whole page otherwise, from the same context, with ``Vary: HX-Request`` so no cache mixes them.
See docs/htmx.md."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap asks for the fragment; a history restore (back button after the cache was
    dropped) needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    fragment: str,
    status: int = 200,
    fragment_status: int | None = None,
) -> HttpResponse:
    """``fragment`` for an htmx request, ``template`` otherwise.

    ``fragment`` is a template (``app/partials/x.html``) or a ``{% partialdef %}`` of the page
    (``app/page.html#results``). htmx swaps only 2xx answers, so a fragment that carries its own
    error message is sent with ``fragment_status`` (default: the page's status).
    """
    if wants_fragment(request):
        code = status if fragment_status is None else fragment_status
        response = render(request, fragment, context, status=code)
    else:
        response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def redirect_page(request: HttpRequest, url: str) -> HttpResponse:
    """After a POST: htmx follows ``HX-Redirect`` with a full page load, a plain form a 302."""
    return HttpResponseClientRedirect(url) if getattr(request, "htmx", None) else redirect(url)
