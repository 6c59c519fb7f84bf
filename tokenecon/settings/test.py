"""Settings for the test suite: fast hashing, a fixed key, artifacts in a temporary folder."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
# One private filesystem-broker folder per test session, inherited by the workers tests start.
os.environ.setdefault("CELERY_BROKER_DIR", tempfile.mkdtemp(prefix="tokenecon-broker-"))

from .base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ARTIFACTS_DIR = Path(tempfile.mkdtemp(prefix="tokenecon-artifacts-"))
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="tokenecon-static-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405

# A file, not memory: threads in the concurrency tests and a Celery worker started by the broker
# test must see the same database the test writes.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.environ.get("SQLITE_TEST_PATH")
        or str(Path(tempfile.gettempdir()) / f"tokenecon-test-{os.getpid()}.sqlite3")
    }
