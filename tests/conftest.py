import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared").resolve()

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# Folders whose every test starts a real language server or editor are `e2e`; elsewhere a
# module or test marks itself. `editor` and `slow` tests are `e2e` too, so `pytest -m "not e2e"`
# runs the quick in-process core.
E2E_FOLDERS = ("lsp", "editors")


def pytest_collection_modifyitems(config, items):
    tests = ROOT / "tests"
    for item in items:
        path = Path(item.path)
        folder = path.relative_to(tests).parts[0] if tests in path.parents else None
        if folder in E2E_FOLDERS or item.get_closest_marker("editor") or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.e2e)


def require(condition: bool, why: str):
    """Skip when a tool is missing, except under CI=true where that is a failure."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required under CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def shared() -> Path:
    require(SHARED.is_dir(), f"{SHARED} is missing")
    return SHARED
