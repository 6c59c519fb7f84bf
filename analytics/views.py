"""Admin dashboard pages: overview, training runs with live progress, and the model registry."""

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from analytics import selectors
from analytics.models import ModelVersion, PipelineRun
from analytics.pipelines.registry import DEFAULT_KIND, UnknownPipeline, trainable_pipelines
from analytics.services.pipeline import RunInProgress, start_pipeline_run
from analytics.services.registry import archive_version, promote_version
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
    return render(request, "analytics/registry.html", {"rows": selectors.comparison_rows(versions)})


@role_required("staff")
@require_POST
def change_stage(request, pk: int, action: str):
    if action not in ("promote", "archive"):
        raise Http404("Unknown action")
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        if action == "promote":
            promote_version(version=version)
            messages.success(request, f"{version.name} v{version.version} is now in production.")
        else:
            archive_version(version=version)
            messages.success(request, f"{version.name} v{version.version} archived.")
    except TokenEconomyError as exc:
        messages.error(request, str(exc))
    return redirect("analytics:registry")
