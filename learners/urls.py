from django.urls import path

from learners import views, views_coupons, views_refunds, views_statements

app_name = "learners"
urlpatterns = [
    path("", views.learner_home, name="learner_home"),
    path("wallet/", views.wallet, name="wallet"),
    path("courses/", views.catalog, name="catalog"),
    path("courses/<str:code>/", views.course_detail, name="course_detail"),
    path("courses/<str:code>/enroll/", views.enroll, name="enroll"),
    path("offers/", views.offers, name="offers"),
    path("offers/<int:pk>/", views.use_offer, name="use_offer"),
    path("recommended/", views.suggestions, name="recommendations"),
    path("my-courses/", views.my_courses, name="my_courses"),
    path("wallet/statement.csv", views_statements.wallet_statement_csv, name="wallet_statement"),
    path("courses/<str:code>/coupon/", views_coupons.apply_coupon, name="apply_coupon"),
    path("my-courses/<int:pk>/refund/", views_refunds.refund_enrollment, name="refund_enrollment"),
]
# Buying token packs (learners/views_payments.py).
from learners import views_payments  # noqa: E402

urlpatterns += [
    path("wallet/packs/<str:pack>/", views_payments.buy_pack, name="buy_pack"),
    path("wallet/orders/<int:pk>/", views_payments.order_detail, name="order_detail"),
    path("wallet/orders/<int:pk>/pay/", views_payments.pay_order, name="pay_order"),
    path("wallet/orders/<int:pk>/cancel/", views_payments.cancel_pending_order, name="cancel_order"),
]
