"""The document store on a real SQLite file: versions count every write."""

from __future__ import annotations

import sqlite3

from db2api.receiver.store import Store
from db2api.receiver.writes import WriteOp


def test_store_versions_count_each_write_even_within_one_batch(tmp_path) -> None:
    with Store(tmp_path / "r.sqlite") as store:
        ops = [WriteOp("index", "i", "x", f'{{"n":{n}}}') for n in range(3)]
        assert [(r.status, r.version) for r in store.write(ops)] == [(201, 1), (200, 2), (200, 3)]
        assert store.get("i", "x") == (3, '{"n":2}', 2)  # the last write's _seq_no
        assert store.count("i") == 1
        assert store.count("nope") is None
        assert store.ids("nope") is None


def test_reads_by_id_give_the_last_write_s_seq_no(tmp_path) -> None:
    with Store(tmp_path / "r.sqlite") as store:
        writes = [WriteOp("index", "i", doc_id, "{}") for doc_id in ("a", "b", "a")]
        seq_nos = [r.seq_no for r in store.write(writes)]
        assert store.documents("i", ["a", "b", "z"]) == {
            "a": (2, "{}", seq_nos[2]),
            "b": (1, "{}", seq_nos[1]),
        }
        assert store.documents("i", ["a"], bodies=False)["a"].seq_no == seq_nos[2]


def test_a_data_file_from_before_seq_no_was_stored_gets_the_column(tmp_path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE docs (idx TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, "
            "version INTEGER NOT NULL, PRIMARY KEY (idx, id))"
        )
        conn.execute("""INSERT INTO docs VALUES ('i', 'old', '{"n":1}', 4)""")
    conn.close()
    with Store(path) as store:
        assert store.get("i", "old") == (4, '{"n":1}', 0)
        (result,) = store.write([WriteOp("index", "i", "new", "{}")])
        assert store.get("i", "new") == (1, "{}", result.seq_no)


def test_a_noop_update_answers_the_document_s_own_seq_no(tmp_path) -> None:
    with Store(tmp_path / "r.sqlite") as store:
        (written,) = store.write([WriteOp("index", "i", "a", '{"n":1}')])
        store.write([WriteOp("index", "i", "b", "{}")])
        (noop,) = store.write([WriteOp("update", "i", "a", '{"n":1}')])
        assert (noop.result, noop.version, noop.seq_no) == ("noop", 1, written.seq_no)
