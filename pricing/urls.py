from django.urls import path

from pricing import views, views_coupons, views_csv, views_earnings

app_name = "pricing"
urlpatterns = [
    path("", views.teacher_home, name="teacher_home"),
    path("earnings/", views_earnings.earnings, name="earnings"),
    path("courses/", views.staff_courses, name="staff_courses"),
    path("courses/apply-selected/", views.apply_selected_recommendations, name="apply_selected"),
    path("recommendations/compute/", views.compute_recommendations_now, name="compute_recommendations"),
    path("recommendations/compute/<int:run_id>/", views.advice_run_status, name="advice_run_status"),
    path("courses/<str:code>/", views.course_detail, name="course_detail"),
    path("courses/<str:code>/what-if/", views.course_what_if, name="course_what_if"),
    path("courses/<str:code>/apply/", views.apply_course_recommendation, name="apply_recommendation"),
    path("courses/<str:code>/dismiss/", views.dismiss_course_recommendation, name="dismiss_recommendation"),
    path("earnings/payout/", views_earnings.payout_request, name="payout_request"),
    path("earnings/statement/", views_earnings.statement, name="statement"),
    path("earnings/statement.csv", views_earnings.statement_csv, name="statement_csv"),
    path("coupons/", views_coupons.coupons, name="coupons"),
    path("coupons/new/", views_coupons.coupon_new, name="coupon_new"),
    path("coupons/<int:pk>/deactivate/", views_coupons.coupon_deactivate, name="coupon_deactivate"),
    path("courses/<str:code>/price/", views.course_set_price, name="course_set_price"),
    path("courses/<str:code>/price/undo/", views.course_undo_price, name="course_undo_price"),
    path("notices/<int:pk>/read/", views.notice_read, name="notice_read"),
    path("notices/read-all/", views.notices_read_all, name="notices_read_all"),
    path("courses.csv", views_csv.staff_courses_csv, name="staff_courses_csv"),
    path("earnings/payouts.csv", views_csv.payouts_csv, name="payouts_csv"),
]
