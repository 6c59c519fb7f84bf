"""Core Celery tasks: thin wrappers that take ids and call services."""

from celery import shared_task
from django.db import connection


@shared_task(name="tokenecon.ping_database")
def ping_database() -> dict:
    """A round trip through broker, worker and database; used by the health check and CI."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return {"database": value == 1, "vendor": connection.vendor}


@shared_task(name="tokenecon.release_due_earnings")
def release_due_earnings() -> dict:
    """Daily: move every teacher share whose refund window has passed from pending to available."""
    from tokenecon.services.earnings import release_due

    return {"released": release_due()}
