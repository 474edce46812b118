import sys

import pytest

from training.tests.util import REPO_ROOT, TINY, TINY_ARGS, run_module

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Train once on the tiny snapshot; every test that needs a model shares the result."""
    out = tmp_path_factory.mktemp("train") / "model"
    proc = run_module("training.train", "--data", str(TINY), "--out", str(out), "--device", "cpu", *TINY_ARGS)
    return out, proc
