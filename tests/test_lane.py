import os

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.django_db
def test_lane_runs_on_the_database_and_broker_it_asked_for():
    """CI's second lane must really run on PostgreSQL and Redis, not fall back to the defaults."""
    assert connection.vendor == os.environ.get("EXPECT_DB_VENDOR", "sqlite")
    expected_broker = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    assert settings.CELERY_BROKER_URL == expected_broker
