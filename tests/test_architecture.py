"""The layer contracts of pyproject.toml hold in every lane, not only in `make lint`."""

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports


def test_apps_import_downwards_and_ml_modules_import_no_django():
    assert lint_imports(no_cache=True) == EXIT_STATUS_SUCCESS
