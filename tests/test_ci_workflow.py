"""The CI workflow runs the README's make targets on the oldest and newest Python."""

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "ci.yml"


def _job():
    wf = yaml.safe_load(WORKFLOW.read_text())
    assert wf["permissions"] == {"contents": "read"}
    (job,) = wf["jobs"].values()
    return job


def test_matrix_is_the_oldest_and_newest_python():
    assert _job()["strategy"]["matrix"]["python"] == ["3.10", "3.13"]


def test_steps_run_the_make_targets_in_order():
    runs = [s["run"] for s in _job()["steps"] if "run" in s]
    assert [r.split(" PYTHON=")[0] for r in runs] == ["make test", "make figures QUICK=1"]


def test_actions_are_pinned_and_figures_uploaded():
    steps = _job()["steps"]
    for s in steps:
        if "uses" in s:
            ref = s["uses"].split("@")[1]
            assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref)
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"].split() == ["results/quick/**/figures/*.png"]
