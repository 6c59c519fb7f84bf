"""Teacher portal coupons: the teacher's coupons (uses against the cap, validity, status), a form
to create one for one of their courses or all of them (teacher-funded), and deactivation.
Another teacher's coupon is answered like a missing one (404)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from pricing.forms_coupons import TeacherCouponForm
from tokenecon.errors import CouponInvalid
from tokenecon.htmx import redirect_page
from tokenecon.permissions import role_required
from tokenecon.services.coupons import coupon_status, coupons_visible_to, create_coupon, deactivate_coupon

PAGE_SIZE = 50


@role_required("teacher")
def coupons(request):
    page = Paginator(coupons_visible_to(request.user).order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for coupon in page.object_list:
        coupon.status = coupon_status(coupon)
    return render(request, "pricing/coupons.html", {"page": page})


@role_required("teacher")
@require_http_methods(["GET", "POST"])
def coupon_new(request):
    if request.method == "POST":
        form = TeacherCouponForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                coupon = create_coupon(by=request.user, **form.cleaned_data)
            except CouponInvalid as exc:
                for name, message in exc.errors.items():
                    form.add_error(name if name in form.fields else None, message)
            else:
                messages.success(request, f"Coupon {coupon.code} created.")
                return redirect("pricing:coupons")
        return render(request, "pricing/coupons_new.html", {"form": form}, status=400)
    return render(request, "pricing/coupons_new.html", {"form": TeacherCouponForm(user=request.user)})


@role_required("teacher")
@require_POST
def coupon_deactivate(request, pk: int):
    coupon = get_object_or_404(coupons_visible_to(request.user), pk=pk)
    deactivate_coupon(coupon=coupon, by=request.user)
    messages.success(request, f"Coupon {coupon.code} is deactivated; uses already made stand.")
    return redirect_page(request, reverse("pricing:coupons"))
