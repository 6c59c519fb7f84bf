"""Importing CSV files: the upsert engine (engine.py), the kinds declared for it (people.py,
catalog.py, activity.py), the enrollments that move tokens (enrollments.py), and the two services
that run them (service.py: ``preview_import``, ``import_csv``)."""
