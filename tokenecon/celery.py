"""The Celery application.

Broker: kombu's filesystem transport under ``var/celery-broker`` by default (no server needed,
tasks still run in a separate worker process), Redis when ``CELERY_BROKER_URL`` says so.
Results: the database, through django-celery-results.
"""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenecon.settings.base")

app = Celery("tokenecon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """The filesystem transport expects its folders to exist before anyone publishes."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
