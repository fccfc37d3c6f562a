"""Finding and loading job files, and the messages when one is wrong."""

from __future__ import annotations

import os
import textwrap

import pytest

from db2api.errors import JobError
from db2api.job import Env, Job
from db2api.run.catalog import BUNDLED, job_folders, job_names, load_job, load_job_file

JOB_FILE = """\
from etlhelper import DbParams

from db2api.job import Job, Source, Target

job = Job(
    name={name!r},
    source=Source(db=DbParams(dbtype="SQLITE", filename="x.sqlite")),
    sql="SELECT * FROM t WHERE at >= :start AND at < :end",
    id="id",
    target=Target(url="http://127.0.0.1:9200", index={index!r}),
)
"""


# The bundled jobs, read from the folder so a new bundled job does not break these tests.
BUNDLED_NAMES = sorted(p.stem for p in BUNDLED.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture
def jobs_dir(tmp_path, monkeypatch):
    """An empty extra job folder on DB2API_JOBS_PATH."""
    folder = tmp_path / "jobs"
    folder.mkdir()
    monkeypatch.setenv("DB2API_JOBS_PATH", str(folder))
    return folder


@pytest.fixture
def no_extra_jobs(monkeypatch):
    monkeypatch.delenv("DB2API_JOBS_PATH", raising=False)


def write_job(folder, name, index="things", job_name=None):
    path = folder / f"{name}.py"
    path.write_text(JOB_FILE.format(name=job_name or name, index=index))
    return path


def load_error(target) -> str:
    with pytest.raises(JobError) as caught:
        load_job(str(target))
    return caught.value.message


def test_unknown_job_lists_the_known_ones(no_extra_jobs):
    assert {"demo", "sensors"} <= set(BUNDLED_NAMES)
    assert load_error("nope") == (
        f"unknown job 'nope': known jobs are {', '.join(BUNDLED_NAMES)}; add nope.py defining "
        f"`job = Job(...)` to {BUNDLED} or to a folder in DB2API_JOBS_PATH"
    )


def test_unknown_job_lists_jobs_from_extra_folders_too(jobs_dir):
    write_job(jobs_dir, "alpha")

    known = ", ".join(sorted(["alpha", *BUNDLED_NAMES]))
    assert load_error("nope").startswith(f"unknown job 'nope': known jobs are {known};")


def test_bundled_job_names_skip_private_files(no_extra_jobs):
    assert job_names() == BUNDLED_NAMES
    assert "__init__" not in job_names()
    assert job_folders() == [BUNDLED]


def test_extra_folders_are_searched_in_order_and_win_over_bundled(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write_job(first, "demo", index="from-first")
    write_job(second, "demo", index="from-second")
    write_job(second, "extra", index="extra-index")
    (second / "_helpers.py").write_text("raise RuntimeError('never imported')\n")
    monkeypatch.setenv("DB2API_JOBS_PATH", os.pathsep.join([str(first), str(second)]))

    assert job_folders() == [first, second, BUNDLED]
    assert job_names() == sorted({"demo", "extra", *BUNDLED_NAMES})
    assert load_job("demo").target.index == "from-first"
    assert load_job("extra").target.index == "extra-index"
    assert load_job("sensors").target.index == "sensors"


def test_a_missing_folder_on_the_path_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path / "missing"))

    assert job_names() == BUNDLED_NAMES


def test_a_job_can_be_loaded_by_path(tmp_path):
    path = write_job(tmp_path, "by-path")

    assert load_job(str(path)).name == "by-path"


def test_a_missing_job_path_is_reported(tmp_path):
    path = tmp_path / "absent.py"

    assert load_error(path) == f"job file {path} does not exist"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "x = 1\njob = Job(name='broken'\n",
            "has a syntax error at line 2: '(' was never closed",
        ),
        (
            "import json\n\n\nsettings = json.loads('{')\n",
            "failed to load at line 4: JSONDecodeError: Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1)",
        ),
        (
            "\n\nlimit = 1 / 0\n",
            "failed to load at line 3: ZeroDivisionError: division by zero",
        ),
        (
            "import db2api_no_such_module\n",
            "failed to load at line 1: ModuleNotFoundError: "
            "No module named 'db2api_no_such_module'",
        ),
        ("jobs = []\n", "defines no `job = Job(...)`"),
        ("job = {'name': 'broken'}\n", "defines no `job = Job(...)`"),
    ],
)
def test_a_broken_job_file_is_reported_with_its_line(jobs_dir, source, message):
    path = jobs_dir / "broken.py"
    path.write_text(source)

    assert load_error("broken") == f"job file {path} {message}"


def test_an_invalid_job_in_a_file_is_reported_with_the_file(jobs_dir):
    path = write_job(jobs_dir, "invalid")
    path.write_text(path.read_text().replace('id="id"', 'id=""'))

    assert load_error("invalid") == (
        f"job file {path}: job 'invalid': id is empty: name the column (or columns) that "
        "identify a row, or a function"
    )


def test_a_job_named_differently_from_its_file_is_refused(jobs_dir):
    path = write_job(jobs_dir, "readings", job_name="sensor-readings")

    assert load_error("readings") == (
        f"job file {path} names its job 'sensor-readings': rename the file to "
        "sensor-readings.py or the job to 'readings', so runs and caches are filed under one name"
    )


@pytest.mark.parametrize("name", ["demo", "sensors"])
def test_bundled_jobs_load_without_any_environment(monkeypatch, no_extra_jobs, name):
    for key in list(os.environ):
        if key.startswith(("DB2API_", "SENSORS_")):
            monkeypatch.delenv(key)

    job = load_job(name)

    assert isinstance(job, Job)
    assert job.name == name
    assert isinstance(job.target.url, Env)


def test_the_demo_job_reads_its_mode_at_load_time(monkeypatch, no_extra_jobs):
    monkeypatch.setenv("DB2API_DEMO_MODE", "item")
    assert load_job("demo").target.mode == "item"

    monkeypatch.delenv("DB2API_DEMO_MODE")
    assert load_job("demo").target.mode == "bulk"


def test_load_job_file_returns_the_job(tmp_path):
    path = write_job(tmp_path, "direct", index="direct-index")

    job = load_job_file(path)

    assert (job.name, job.target.index) == ("direct", "direct-index")


def test_job_file_messages_are_one_line(jobs_dir):
    (jobs_dir / "multi.py").write_text(
        textwrap.dedent(
            """
            raise ValueError('''first line
                second line''')
            """
        )
    )

    message = load_error("multi")

    assert "\n" not in message
    assert message.endswith("failed to load at line 2: ValueError: first line second line")
