"""The training pipelines: ``spec`` says what a pipeline is, ``demand`` and ``propensity`` are the
two the platform runs, and ``registry`` declares them."""
