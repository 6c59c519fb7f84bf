from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics, model registry and the admin dashboard"

    def ready(self) -> None:
        from analytics.services.registry import NoProductionModel, load_production_model
        from pricing.services.model_source import NoDemandModel, ProductionDemand, set_demand_provider

        def provide() -> ProductionDemand:
            try:
                version, artifact = load_production_model("demand")
            except NoProductionModel as exc:
                raise NoDemandModel(str(exc)) from exc
            return ProductionDemand(version=version.version, algorithm=version.algorithm, artifact=artifact)

        set_demand_provider(provide)
