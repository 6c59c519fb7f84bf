"""Small helpers shared by the tests of every app."""

from __future__ import annotations

from rest_framework.test import APIClient


def signed_in(client, user):
    """The test client signed in as ``user``, or left anonymous when ``user`` is None."""
    if user is not None:
        client.force_login(user)
    return client


def api_client_for(user) -> APIClient:
    """A DRF test client signed in as ``user`` (anonymous when None)."""
    return signed_in(APIClient(), user)
