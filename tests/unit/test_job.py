"""Job validation messages, run-time settings and the cache fingerprint."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import timedelta

import pytest
from etlhelper import DbParams

from db2api.errors import JobError
from db2api.job import Env, Job, Source, Target, check_url, resolve
from db2api.transport.retry import RetryPolicy

SQLITE = DbParams(dbtype="SQLITE", filename="source.sqlite")
PG = DbParams(dbtype="PG", host="db.example.org", port=5432, dbname="readings", user="reader")
SQL = "SELECT * FROM readings WHERE measured_at >= :start AND measured_at < :end"
PG_SQL = "SELECT * FROM readings WHERE measured_at >= %(start)s AND measured_at < %(end)s"


def to_document(row):
    return {"id": row["reading_id"], "value": row["value"]}


def to_other_document(row):
    return {"id": row["reading_id"], "value": row["value"] * 2}


def reading_key(row):
    return row["reading_id"]


def make_job(**changes) -> Job:
    fields = {
        "name": "unit",
        "source": Source(db=SQLITE),
        "sql": SQL,
        "id": "reading_id",
        "target": Target(url="http://127.0.0.1:9200", index="readings"),
        "transform": to_document,
        **changes,
    }
    return Job(**fields)


def make_target(**changes) -> Target:
    return Target(**{"url": "http://127.0.0.1:9200", "index": "readings", **changes})


def unsupported_db() -> DbParams:
    params = DbParams(dbtype="SQLITE", filename="x.sqlite")
    params["dbtype"] = "MYSQL"  # etlhelper itself refuses MYSQL, so set it afterwards
    return params


def job_error(**changes) -> str:
    with pytest.raises(JobError) as caught:
        make_job(**changes)
    return caught.value.message


@pytest.mark.parametrize(
    "name",
    ["unit", "sensors-2024", "a_b", "x9", "x" * 200],
)
def test_valid_jobs_are_accepted(name):
    assert make_job(name=name).name == name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"name": "Bad Name"},
            "job name 'Bad Name' is not valid: use lower-case letters, digits, '-' or '_'",
        ),
        (
            {"name": "9lives"},
            "job name '9lives' is not valid: use lower-case letters, digits, '-' or '_'",
        ),
        ({"name": ""}, "job name '' is not valid: use lower-case letters, digits, '-' or '_'"),
        (
            {"name": "x" * 201},
            f"job name {'x' * 24!r}… is 201 characters long: use at most 200 (Prefect Variables "
            "named after the job hold at most 255)",
        ),
        (
            {"source": Source(db=unsupported_db())},
            "job 'unit': source dbtype 'MYSQL' is not supported: "
            "use one of ['MSSQL', 'ORACLE', 'PG', 'SQLITE']",
        ),
        (
            {"sql": "SELECT * FROM readings WHERE measured_at >= :start"},
            "job 'unit': SQL for SQLITE must use the binds :start and :end (paramstyle named); "
            "missing :end: write e.g. WHERE t >= :start AND t < :end",
        ),
        (
            {"sql": "SELECT * FROM readings"},
            "job 'unit': SQL for SQLITE must use the binds :start and :end (paramstyle named); "
            "missing :start, :end: write e.g. WHERE t >= :start AND t < :end",
        ),
        (
            {"sql": PG_SQL},
            "job 'unit': SQL for SQLITE must use the binds :start and :end (paramstyle named); "
            "missing :start, :end (it uses %(start)s, which is another database's style): "
            "write e.g. WHERE t >= :start AND t < :end",
        ),
        (
            {"source": Source(db=PG)},
            "job 'unit': SQL for PG must use the binds %(start)s and %(end)s "
            "(paramstyle pyformat); "
            "missing %(start)s, %(end)s (it uses :start, which is another database's style): "
            "write e.g. WHERE t >= %(start)s AND t < %(end)s",
        ),
        (
            {
                "source": Source(
                    db=SQLITE, password_env="DB_PASSWORD", password_secret="db-password"
                )
            },
            "job 'unit': set source.password_env or source.password_secret, not both",
        ),
        (
            {"id": ""},
            "job 'unit': id is empty: name the column (or columns) that identify a row, "
            "or a function",
        ),
        (
            {"id": []},
            "job 'unit': id is empty: name the column (or columns) that identify a row, "
            "or a function",
        ),
        (
            {"id": 7},
            "job 'unit': id must be a column name, a list of column names or a function (got 7)",
        ),
        (
            {"transform": "to_document"},
            "job 'unit': transform must be a function taking a row dict and returning "
            "a document dict",
        ),
        ({"chunk_size": 0}, "job 'unit': chunk_size must be a whole number of at least 1 (got 0)"),
        (
            {"chunk_size": 2.5},
            "job 'unit': chunk_size must be a whole number of at least 1 (got 2.5)",
        ),
        (
            {"concurrency": -1},
            "job 'unit': concurrency must be a whole number of at least 1 (got -1)",
        ),
        (
            {"window": "1x"},
            "job 'unit': window length '1x' is not understood: write a number and a unit, "
            "e.g. '1d', '6h', '15m'",
        ),
        ({"window": "0h"}, "job 'unit': window length '0h' must be positive"),
        (
            {"lag": "soon"},
            "job 'unit': lag 'soon' is not understood: write a number and a unit, "
            "e.g. '1d', '6h', '15m'",
        ),
        (
            {"lag": "0d"},
            "job 'unit': lag '0d' must be positive: leave lag unset to re-read nothing, "
            "or write e.g. '2d'",
        ),
        *(
            (
                {"target": make_target(timeout=bad)},
                f"job 'unit': target.timeout must be a number of seconds above 0 (got {bad!r}): "
                "a request without a time limit can hang the run; the default is 30",
            )
            for bad in (0, -1, "30", None)
        ),
        (
            {"target": make_target(headers={"X-Api-Key": 42})},
            "job 'unit': target.headers['X-Api-Key'] must map a header name to a string, "
            "Env(...) or Secret(...) (got int)",
        ),
        (
            {"target": make_target(url="http://127.0.0.1:92 00")},
            "job 'unit': target URL 'http://127.0.0.1:92 00' contains a space or control "
            "character: remove it, or percent-encode it (%20) if the path really has one",
        ),
        (
            {"target": make_target(url="http://127.0.0.1:port")},
            "job 'unit': target URL 'http://127.0.0.1:port' has a port that is not a number "
            "from 0 to 65535: write e.g. https://search.example.org:9200",
        ),
        (
            {"timezone": "Mars/Base"},
            "job 'unit': unknown timezone 'Mars/Base': "
            "use an IANA name such as 'UTC' or 'Europe/London'",
        ),
        (
            {"source": Source(db=SQLITE, timezone="Europe/Lundon")},
            "job 'unit': unknown timezone 'Europe/Lundon': "
            "use an IANA name such as 'UTC' or 'Europe/London'",
        ),
        (
            {"target": make_target(mode="stream")},
            "job 'unit': target mode must be one of 'bulk', 'item', 'batch' (got 'stream')",
        ),
        (
            {"target": make_target(auth_env="API_KEY", auth_secret="api-key")},
            "job 'unit': set target.auth_env or target.auth_secret, not both",
        ),
        (
            {"target": make_target(bulk_docs=0)},
            "job 'unit': bulk_docs must be >= 1 and bulk_bytes >= 1024 (got 0, 5242880)",
        ),
        (
            {"target": make_target(bulk_bytes=1023)},
            "job 'unit': bulk_docs must be >= 1 and bulk_bytes >= 1024 (got 1000, 1023)",
        ),
        (
            {"target": make_target(mode="item", path="/{index}/_doc")},
            "job 'unit': item path '/{index}/_doc' has no {id}; a PUT without the id cannot be "
            "idempotent: add {id} to the path",
        ),
        (
            {"target": make_target(mode="item", upsert="merge")},
            "job 'unit': target.upsert must be one of 'none', 'put-or-post', 'post-or-put' "
            "(got 'merge')",
        ),
        (
            {"target": make_target(mode="bulk", upsert="put-or-post")},
            "job 'unit': target.upsert 'put-or-post' works one document at a time: "
            "use mode='item', or leave upsert at 'none'",
        ),
        (
            {"target": make_target(mode="item", upsert="post-or-put", method="PATCH")},
            "job 'unit': upsert 'post-or-put' sends PUT and POST itself: leave target.method "
            "at 'PUT' (got 'PATCH')",
        ),
        (
            {"target": make_target(mode="item", upsert="put-or-post", path="/{index}/{id}/doc")},
            "job 'unit': upsert 'put-or-post' POSTs to the collection, and path "
            "'/{index}/{id}/doc' does not end in '/{id}': set target.collection_path, "
            "e.g. '/{index}'",
        ),
        (
            {
                "target": make_target(
                    mode="item", upsert="put-or-post", collection_path="/{index}/{id}"
                )
            },
            "job 'unit': target.collection_path '/{index}/{id}' contains {id}: POST goes to "
            "the collection itself, e.g. '/{index}'",
        ),
        (
            {"target": make_target(op_type="upsert")},
            "job 'unit': target.op_type must be 'index' (create or overwrite) or 'create' (write "
            "once; data streams need it), got 'upsert'",
        ),
        (
            {"target": make_target(mode="batch", method="GET", path="/records")},
            "job 'unit': batch method must be POST, PUT or PATCH (got 'GET')",
        ),
        (
            {"target": make_target(mode="batch", bulk_docs=0)},
            "job 'unit': bulk_docs must be >= 1 and bulk_bytes >= 1024 (got 0, 5242880)",
        ),
        (
            {"target": make_target(url="ftp://files.example.org")},
            "job 'unit': target URL 'ftp://files.example.org' is not an http(s) URL: "
            "write e.g. https://search.example.org:9200",
        ),
        (
            {"target": make_target(url="search.example.org:9200")},
            "job 'unit': target URL 'search.example.org:9200' is not an http(s) URL: "
            "write e.g. https://search.example.org:9200",
        ),
        (
            {"target": make_target(url="https://")},
            "job 'unit': target URL 'https://' is not an http(s) URL: "
            "write e.g. https://search.example.org:9200",
        ),
    ],
)
def test_invalid_jobs_are_refused_naming_the_fix(changes, message):
    assert job_error(**changes) == message


@pytest.mark.parametrize("limit", [0, -0.1, 1.5, True, "0.1", float("nan")])
def test_max_dead_fraction_outside_0_to_1_is_refused_in_one_line(limit):
    assert job_error(max_dead_fraction=limit) == (
        f"job 'unit': max_dead_fraction must be a number above 0 and at most 1 (got {limit!r}), "
        "e.g. 0.1 stops the run after a window that dead-lettered more than 10% of its rows"
    )


@pytest.mark.parametrize("limit", [None, 0.1, 1, 1.0])
def test_max_dead_fraction_from_none_to_1_is_accepted(limit):
    assert make_job(max_dead_fraction=limit).max_dead_fraction == limit


@pytest.mark.filterwarnings("ignore::UserWarning")  # etlhelper warns that pyodbc is missing
@pytest.mark.parametrize(
    ("sql", "accepted"),
    [
        ("SELECT * FROM r WHERE t >= ? AND t < ?", True),
        ("SELECT * FROM r WHERE t >= ?", False),
        ("SELECT * FROM r WHERE t >= ? AND t < ? AND k = ?", False),
        (SQL, False),
    ],
)
def test_mssql_needs_exactly_two_qmark_binds(sql, accepted):
    db = DbParams(
        dbtype="MSSQL", host="h", port=1433, dbname="d", user="u", odbc_driver="ODBC Driver 18"
    )
    if accepted:
        assert make_job(source=Source(db=db), sql=sql).source.dbtype == "MSSQL"
    else:
        assert job_error(source=Source(db=db), sql=sql) == (
            "job 'unit': SQL for MSSQL needs exactly two '?' binds, start then end, "
            "e.g. WHERE t >= ? AND t < ?"
        )


def test_postgres_sql_with_pyformat_binds_is_accepted():
    job = make_job(source=Source(db=PG), sql=PG_SQL)

    assert job.source.dbtype == "PG"
    assert job.source.bound_style == "aware"


@pytest.mark.parametrize(
    "url",
    [
        "https://elastic:hunter2pass@search.example.org:9200",
        "http://elastic:hunter2pass@127.0.0.1:9200/",
        "https://hunter2pass@search.example.org",
    ],
)
def test_a_target_url_with_credentials_is_refused_without_echoing_them(url):
    message = job_error(target=make_target(url=url))

    assert message == (
        "job 'unit': target URL contains credentials; move them to target.auth_env "
        "or target.auth_secret so they stay out of logs"
    )
    assert "hunter2pass" not in message


def test_a_non_http_url_with_credentials_is_shown_masked():
    message = job_error(target=make_target(url="ftp://elastic:hunter2pass@files.example.org"))

    assert message == (
        "job 'unit': target URL 'ftp://***@files.example.org' is not an http(s) URL: "
        "write e.g. https://search.example.org:9200"
    )


def test_a_password_containing_an_at_sign_is_not_echoed():
    message = job_error(target=make_target(url="ftp://elastic:p@ssw0rd@files.example.org"))

    assert "ssw0rd" not in message


@pytest.mark.parametrize(
    ("url", "cleaned"),
    [
        ("https://search.example.org:9200/", "https://search.example.org:9200"),
        ("http://127.0.0.1:9200", "http://127.0.0.1:9200"),
        ("https://search.example.org/prefix//", "https://search.example.org/prefix"),
        # Blanks around it (an env var read from a file) are dropped, not sent.
        ("http://127.0.0.1:9200 ", "http://127.0.0.1:9200"),
        ("\t https://search.example.org:9200/\n", "https://search.example.org:9200"),
        # Non-ASCII is percent-encoded once, here: requests send URLs as built.
        ("https://search.example.org/dépôt", "https://search.example.org/d%C3%A9p%C3%B4t"),
    ],
)
def test_check_url_strips_blanks_and_trailing_slashes(url, cleaned):
    assert check_url(url, "unit") == cleaned


def test_an_env_url_is_not_checked_until_the_job_runs(monkeypatch):
    monkeypatch.delenv("UNIT_TARGET_URL", raising=False)

    job = make_job(target=make_target(url=Env("UNIT_TARGET_URL")))

    assert isinstance(job.target.url, Env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            Env("UNIT_DB_HOST", help="Oracle host"),
            "environment variable UNIT_DB_HOST is not set (Oracle host): "
            "export it before running job 'sensors'",
        ),
        (
            Env("UNIT_DB_HOST"),
            "environment variable UNIT_DB_HOST is not set: export it before running job 'sensors'",
        ),
    ],
)
def test_env_resolve_names_the_variable_and_the_job(monkeypatch, env, message):
    monkeypatch.delenv("UNIT_DB_HOST", raising=False)

    with pytest.raises(JobError) as caught:
        env.resolve("sensors")

    assert caught.value.message == message


@pytest.mark.parametrize(
    ("environ", "env", "expected"),
    [
        ({"UNIT_DB_HOST": "db.example.org"}, Env("UNIT_DB_HOST"), "db.example.org"),
        ({"UNIT_DB_HOST": "db.example.org"}, Env("UNIT_DB_HOST", "fallback"), "db.example.org"),
        ({}, Env("UNIT_DB_HOST", "fallback"), "fallback"),
        ({"UNIT_DB_HOST": ""}, Env("UNIT_DB_HOST", "fallback"), ""),
    ],
)
def test_env_resolve_reads_the_environment_then_the_default(monkeypatch, environ, env, expected):
    monkeypatch.delenv("UNIT_DB_HOST", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)

    assert env.resolve("unit") == expected
    assert resolve(env, "unit") == expected
    assert resolve("plain", "unit") == "plain"


def test_describe_names_the_source_without_the_password(monkeypatch):
    monkeypatch.setenv("UNIT_DB_USER", "reader")
    source = Source(
        db=DbParams(
            dbtype="PG",
            host="db.example.org",
            port=5432,
            dbname="readings",
            user=Env("UNIT_DB_USER"),
        ),
        password_env="UNIT_DB_PASSWORD",
    )

    assert source.describe("unit") == "PG reader@db.example.org:5432/readings"
    assert Source(db=SQLITE).describe("unit") == "SQLITE source.sqlite"


def test_job_errors_pickle():
    error = JobError("job 'unit': something   wrong\n  here")

    copy = pickle.loads(pickle.dumps(error))

    assert copy.message == error.message == "job 'unit': something wrong here"


# --- fingerprint ---------------------------------------------------------------------

BASE = make_job()


@pytest.mark.parametrize(
    "changed",
    [
        replace(BASE, sql=SQL + " AND quality = 'good'"),
        replace(BASE, transform=to_other_document),
        replace(BASE, transform=None),
        replace(BASE, id="sensor_id"),
        replace(BASE, id=["reading_id", "sensor_id"]),
        replace(BASE, id=reading_key),
        replace(BASE, target=replace(BASE.target, index="readings-v2")),
        replace(BASE, target=replace(BASE.target, url="http://127.0.0.1:9201")),
        replace(BASE, target=replace(BASE.target, mode="item")),
        replace(BASE, target=replace(BASE.target, mode="batch")),
        replace(BASE, target=replace(BASE.target, op_type="create")),
        replace(BASE, target=replace(BASE.target, mode="batch", batch_wrap="rows")),
        replace(BASE, source=Source(db=SQLITE, timezone="Europe/London")),
        replace(BASE, version="2"),
    ],
    ids=[
        "sql",
        "transform",
        "no-transform",
        "id",
        "id-columns",
        "id-function",
        "index",
        "url",
        "mode",
        "batch",
        "op_type",
        "batch-wrap",
        "source-timezone",
        "version",
    ],
)
def test_fingerprint_changes_with_what_a_window_sends(changed):
    assert changed.fingerprint != BASE.fingerprint


@pytest.mark.parametrize(
    "same",
    [
        replace(BASE, concurrency=2),
        replace(BASE, chunk_size=100),
        replace(BASE, retry=RetryPolicy(give_up_after=30)),
        replace(BASE, target=replace(BASE.target, bulk_docs=10, bulk_bytes=2048)),
        replace(
            BASE,
            sql="  SELECT *\n  FROM readings\n WHERE measured_at >= :start\n"
            "  AND measured_at < :end ",
        ),
        make_job(),
    ],
    ids=["concurrency", "chunk_size", "retry", "bulk-caps", "sql-whitespace", "rebuilt"],
)
def test_fingerprint_ignores_how_fast_it_is_sent(same):
    assert same.fingerprint == BASE.fingerprint


def test_fingerprint_is_sixteen_hex_digits():
    assert len(BASE.fingerprint) == 16
    int(BASE.fingerprint, 16)


def test_window_length_is_parsed():
    assert make_job(window="6h").window_length == timedelta(hours=6)
    assert make_job(window=timedelta(minutes=30)).window_length == timedelta(minutes=30)
