from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics, model registry and the admin dashboard"

    def ready(self) -> None:
        from analytics.services import providers
        from learners.services.model_source import set_providers
        from pricing.services.model_source import set_demand_provider, set_demand_version_provider

        set_demand_provider(providers.demand_provider)
        set_demand_version_provider(providers.demand_version_provider)
        set_providers(
            models=providers.learner_model_provider, elasticities=providers.course_elasticity_provider
        )
