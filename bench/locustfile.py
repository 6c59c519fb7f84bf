"""Load for `make bench` (bench/run.py starts it headless against gunicorn on 127.0.0.1).

Every simulated user waits one second between requests and picks one of the six measured
requests at random. ``BENCH_FIXTURE`` names the JSON file bench/run.py wrote with the tokens,
ids and the learner's signed-in session. Run with the class ``AppUser`` for the measured load, or
``CeilingUser`` to hit ``/health/live/`` with no think time (the server's ceiling on a trivial
endpoint).
"""

import json
import os
import random

from locust import HttpUser, between, constant, task

FIXTURE = json.loads(open(os.environ["BENCH_FIXTURE"]).read()) if os.environ.get("BENCH_FIXTURE") else {}


class CeilingUser(HttpUser):
    wait_time = constant(0)

    @task
    def live(self):
        self.client.get("/health/live/", name="health-live")


class AppUser(HttpUser):
    wait_time = between(1, 1)

    def on_start(self):
        self.teacher = {"Authorization": f"Token {FIXTURE['teacher_token']}"}
        self.learner = {"Authorization": f"Token {FIXTURE['learner_token']}"}
        # The page gets the learner's session (made by bench/run.py); the API calls go without it.
        self.session_cookies = {FIXTURE["session_cookie"]: FIXTURE["learner_session"]}

    @task
    def courses(self):
        self.client.get("/api/v1/courses/", headers=self.learner, name="courses")

    @task
    def optimize(self):
        code = random.choice(FIXTURE["course_codes"])
        self.client.post(
            "/api/v1/pricing/optimize/", json={"course_id": code}, headers=self.teacher, name="optimize"
        )

    @task
    def predict(self):
        code = random.choice(FIXTURE["course_codes"])
        self.client.post(
            "/api/v1/pricing/predict-enrollments/",
            json={"course_id": code, "prices": [30, 50, 80]},
            headers=self.teacher,
            name="predict-enrollments",
        )

    @task
    def propensity(self):
        self.client.get(
            f"/api/v1/learners/{FIXTURE['learner_id']}/propensity/", headers=self.learner, name="propensity"
        )

    @task
    def categories(self):
        self.client.get("/api/v1/models/demand/elasticities/", headers=self.teacher, name="categories")

    @task
    def catalog(self):
        # The session cookie from on_start: the page as the learner sees it.
        self.client.get("/learner/courses/", cookies=self.session_cookies, name="learner catalog page")
        self.client.cookies.clear()
