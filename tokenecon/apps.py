from django.apps import AppConfig


class TokeneconConfig(AppConfig):
    name = "tokenecon"
    verbose_name = "Marketplace and token ledger"

    def ready(self) -> None:
        from tokenecon.celery import ensure_broker_folders

        # Every process that may publish or consume (web, worker, tests) needs the folders of the
        # default filesystem broker; with Redis this does nothing.
        ensure_broker_folders()

        from celery.signals import worker_ready, worker_shutdown

        from tokenecon.services.health import start_worker_heartbeat, stop_worker_heartbeat

        # Workers write their own heartbeat rows, which /health/ reads (no ping per request).
        worker_ready.connect(start_worker_heartbeat, dispatch_uid="tokenecon-health-heartbeat-start")
        worker_shutdown.connect(stop_worker_heartbeat, dispatch_uid="tokenecon-health-heartbeat-stop")
