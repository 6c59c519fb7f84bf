"""Admin dashboard pages: overview, training runs with live progress, and the model registry."""

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from analytics import selectors
from analytics.forms import StageChangeForm
from analytics.models import ModelVersion, PipelineRun
from analytics.pipelines.registry import DEFAULT_KIND, UnknownPipeline, trainable_pipelines
from analytics.services.pipeline import RunInProgress, start_pipeline_run
from analytics.services.registry import (
    StageChangePreview,
    archive_version,
    preview_stage_change,
    promote_version,
)
from pricing.selectors import active_advice_run
from tokenecon.errors import TokenEconomyError
from tokenecon.htmx import render_page
from tokenecon.permissions import role_required
from tokenecon.selectors import platform_overview


@role_required("staff")
def dashboard(request):
    # Runs whose worker went quiet are failed by beat (analytics.fail_stale_runs), not by a GET.
    context = platform_overview() | {"runs": selectors.recent_runs(5), "pipelines": trainable_pipelines()}
    return render(request, "analytics/dashboard.html", context)


@role_required("staff")
@require_POST
def start_training(request):
    kind = request.POST.get("kind", DEFAULT_KIND)
    try:
        run = start_pipeline_run(kind=kind, user=request.user, force=request.POST.get("force") == "1")
    except UnknownPipeline as exc:
        # Plain text: the message repeats what was posted, which must never be read as HTML.
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    except RunInProgress as exc:
        messages.info(request, str(exc))
        return redirect("analytics:run_detail", pk=exc.run.pk)
    if run.is_finished:
        messages.info(request, f"This data was already trained on in run {run.pk}; showing it.")
    return redirect("analytics:run_detail", pk=run.pk)


@role_required("staff")
def run_detail(request, pk: int):
    run = get_object_or_404(PipelineRun, pk=pk)
    return render_page(
        request, "analytics/run_detail.html", {"run": run}, fragment="analytics/partials/run_progress.html"
    )


@role_required("staff")
def run_report(request, pk: int):
    run = get_object_or_404(PipelineRun, pk=pk)
    return render(request, "analytics/run_report.html", {"run": run})


@role_required("staff")
def registry(request):
    versions = selectors.model_versions(request.GET.get("name") or None)[:60]
    context = {"rows": selectors.comparison_rows(versions), "advice_run": active_advice_run()}
    return render(request, "analytics/registry.html", context)


STAGE_ACTIONS = ("promote", "archive")


def _stage_change(pk: int, action: str) -> tuple[ModelVersion, StageChangePreview]:
    if action not in STAGE_ACTIONS:
        raise Http404("Unknown action")
    version = get_object_or_404(ModelVersion, pk=pk)
    return version, preview_stage_change(version=version, action=action)


def _confirm_page(request, preview: StageChangePreview, form: StageChangeForm, status: int = 200):
    return render(request, "analytics/stage_confirm.html", {"preview": preview, "form": form}, status=status)


@role_required("staff")
@require_GET
def confirm_stage_change(request, pk: int, action: str):
    """What promoting or archiving a version will change, and the form that confirms it."""
    _, preview = _stage_change(pk, action)
    return _confirm_page(request, preview, StageChangeForm(empties_production=preview.empties_production))


@role_required("staff")
@require_POST
def change_stage(request, pk: int, action: str):
    """Promote or archive once confirmed; without the confirmation, the confirmation page."""
    version, preview = _stage_change(pk, action)
    if "confirm" not in request.POST:
        return redirect("analytics:confirm_stage_change", pk=pk, action=action)
    form = StageChangeForm(request.POST, empties_production=preview.empties_production)
    if not form.is_valid():
        return _confirm_page(request, preview, form, status=400)
    try:
        if action == "promote":
            promote_version(version=version, user=request.user)
            left = f"; v{preview.leaving_production.version} archived" if preview.leaving_production else ""
            recomputed = (
                f" Price advice for {preview.courses_recomputed} courses is being recomputed."
                if preview.courses_recomputed
                else ""
            )
            messages.success(
                request, f"{version.name} v{version.version} is now in production{left}.{recomputed}"
            )
        else:
            archive_version(version=version, leave_production_empty=form.cleaned_data["understand"])
            empty = f" No {version.name} model is in production now." if preview.empties_production else ""
            messages.success(request, f"{version.name} v{version.version} archived.{empty}")
    except TokenEconomyError as exc:
        messages.error(request, str(exc))
    return redirect("analytics:registry")
