from django.apps import AppConfig


class TokeneconConfig(AppConfig):
    name = "tokenecon"
    verbose_name = "Marketplace and token ledger"

    def ready(self) -> None:
        from tokenecon.celery import ensure_broker_folders

        # Every process that may publish or consume (web, worker, tests) needs the folders of the
        # default filesystem broker; with Redis this does nothing.
        ensure_broker_folders()
