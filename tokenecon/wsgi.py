import os

from django.core.wsgi import get_wsgi_application
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenecon.settings.base")
application = get_wsgi_application()


def _warm_up() -> None:
    """Load once at start what first requests would load (setting WARM_UP_AT_START: a dotted path,
    empty to skip). With gunicorn's preload_app this runs in the master, before the fork."""
    from django.conf import settings

    path = getattr(settings, "WARM_UP_AT_START", "")
    if path:
        import_string(path)()


_warm_up()
