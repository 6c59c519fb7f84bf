from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from analytics.forms import StageChangeForm
from analytics.models import ModelVersion, PipelineRun
from analytics.services.registry import archive_version, preview_stage_change, promote_version
from tokenecon.errors import TokenEconomyError


def _confirmation(modeladmin, request, queryset, *, action: str, previews, form=None):
    """Django admin's intermediate page: what the action changes, confirmed by posting ``confirm``."""
    empties = any(p.empties_production for p in previews)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{action.capitalize()} {len(previews)} model version{'s' if len(previews) != 1 else ''}?",
        "previews": previews,
        "action": action,
        "action_name": f"{action}_selected",
        "queryset": queryset,
        "empties_production": empties,
        "form": form or StageChangeForm(empties_production=empties),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "analytics/admin_stage_confirm.html", context)


@admin.action(description="Promote to production (archives the current production version)…")
def promote_selected(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one version to promote.", messages.ERROR)
        return None
    version = queryset.get()
    if "confirm" not in request.POST:
        return _confirmation(
            modeladmin,
            request,
            queryset,
            action="promote",
            previews=[preview_stage_change(version=version, action="promote")],
        )
    try:
        version = promote_version(version=version, user=request.user)
    except TokenEconomyError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return None
    modeladmin.message_user(request, f"{version} is now in production.", messages.SUCCESS)
    return None


@admin.action(description="Archive…")
def archive_selected(modeladmin, request, queryset):
    previews = [preview_stage_change(version=v, action="archive") for v in queryset]
    empties = any(p.empties_production for p in previews)
    if "confirm" not in request.POST:
        return _confirmation(modeladmin, request, queryset, action="archive", previews=previews)
    form = StageChangeForm(request.POST, empties_production=empties)
    if not form.is_valid():
        return _confirmation(modeladmin, request, queryset, action="archive", previews=previews, form=form)
    archived = 0
    for preview in previews:
        try:
            archive_version(version=preview.version, leave_production_empty=form.cleaned_data["understand"])
        except TokenEconomyError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
        else:
            archived += 1
    modeladmin.message_user(request, f"Archived {archived} version(s).", messages.SUCCESS)
    return None


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
