from django.contrib import admin, messages

from analytics.models import ModelVersion, PipelineRun
from analytics.services.registry import archive_version, promote_version
from tokenecon.errors import TokenEconomyError


@admin.action(description="Promote to production (archives the current production version)")
def promote_selected(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one version to promote.", messages.ERROR)
        return
    try:
        version = promote_version(version=queryset.get())
    except TokenEconomyError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    modeladmin.message_user(request, f"{version} is now in production.", messages.SUCCESS)


@admin.action(description="Archive")
def archive_selected(modeladmin, request, queryset):
    for version in queryset:
        archive_version(version=version)
    modeladmin.message_user(request, f"Archived {queryset.count()} version(s).", messages.SUCCESS)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "version",
        "algorithm",
        "stage",
        "selected",
        "data_start",
        "data_end",
        "created_at",
    ]
    list_filter = ["name", "stage", "algorithm", "selected"]
    search_fields = ["name", "algorithm"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = [promote_selected, archive_selected]

    def has_add_permission(self, request):
        return False


@admin.register(PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "current_stage", "progress_pct", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in PipelineRun._meta.fields]

    def has_add_permission(self, request):
        return False
