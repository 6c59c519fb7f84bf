from django.urls import path

from learners import views, views_statements

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
]
