from django.urls import path

from learners import views

app_name = "learners"
urlpatterns = [path("", views.learner_home, name="learner_home")]
