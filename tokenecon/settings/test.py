"""Settings for the test suite: fast hashing, a fixed key, and every file under one temporary
folder per test session (shared with the Celery workers the tests start, removed at exit)."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

if "TOKENECON_TEST_ROOT" not in os.environ:
    os.environ["TOKENECON_TEST_ROOT"] = tempfile.mkdtemp(prefix="tokenecon-test-")
    atexit.register(shutil.rmtree, os.environ["TOKENECON_TEST_ROOT"], True)
TEST_ROOT = Path(os.environ["TOKENECON_TEST_ROOT"])
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("CELERY_BROKER_DIR", str(TEST_ROOT / "broker"))
os.environ.setdefault("TOKENECON_VAR_DIR", str(TEST_ROOT / "var"))

from .base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ARTIFACTS_DIR = TEST_ROOT / "artifacts"
STATIC_ROOT = TEST_ROOT / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405

# A file, not memory: threads in the concurrency tests and a Celery worker started by the broker
# test must see the same database the test writes.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.environ.get("SQLITE_TEST_PATH") or str(TEST_ROOT / "test.sqlite3")
    }
