from django.apps import AppConfig


class TokeneconConfig(AppConfig):
    name = "tokenecon"
    verbose_name = "Marketplace and token ledger"
