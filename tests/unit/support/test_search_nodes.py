"""The pure parts of the search-node launcher: no Java is started here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.search_nodes import ENGINES, NodeUnavailable, SearchNode, check_built
from tests.support.search_nodes.launcher import (
    READY,
    format_setting,
    java_command,
    last_lines,
    parse_settings,
    with_parent_death_signal,
)


@pytest.mark.parametrize(
    ("key", "value", "argument"),
    [
        ("http.max_content_length", "2kb", "http.max_content_length=2kb"),
        ("thread_pool.write.queue_size", 1, "thread_pool.write.queue_size=1"),
        ("action.auto_create_index", False, "action.auto_create_index=false"),
        ("action.destructive_requires_name", True, "action.destructive_requires_name=true"),
    ],
)
def test_format_setting(key: str, value: object, argument: str) -> None:
    assert format_setting(key, value) == argument  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("", "x", "setting name ''"),
        ("a=b", "x", "'a=b'"),
        (" http.port", 1, "' http.port'"),
        ("path.data", "a\nb", "line break"),
    ],
)
def test_format_setting_refuses(key: str, value: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        format_setting(key, value)


def test_a_bad_setting_is_refused_before_any_process_starts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'a=b'"):
        SearchNode("opensearch", tmp_path, settings={"a=b": 1})
    with pytest.raises(ValueError, match="unknown search engine 'solr'"):
        SearchNode("solr", tmp_path)


def test_parse_settings() -> None:
    assert parse_settings(["a.b=1", "c=x=y"]) == {"a.b": "1", "c": "x=y"}
    with pytest.raises(ValueError, match=r"'http\.port' is not key=value"):
        parse_settings(["http.port"])


def built(root: Path, engine: str, jars: list[Path]) -> Path:
    main = root / engine / "classes" / f"{ENGINES[engine].main_class}.class"
    main.parent.mkdir(parents=True)
    main.write_bytes(b"")
    (root / engine / "classpath.txt").write_text(":".join(str(jar) for jar in jars) + "\n")
    return root / engine


def test_java_command(tmp_path: Path) -> None:
    jar = tmp_path / "server.jar"
    build = built(tmp_path, "elasticsearch", [jar])
    command = java_command(
        "/jdk/bin/java",
        ENGINES["elasticsearch"],
        build,
        tmp_path / "home",
        9202,
        {"thread_pool.write.queue_size": 1, "action.auto_create_index": False},
        heap_mb=256,
    )
    assert command == [
        "/jdk/bin/java",
        "-Xms256m",
        "-Xmx256m",
        "-Dfile.encoding=UTF-8",
        "-cp",
        f"{build / 'classes'}:{jar}",
        "LocalElasticsearch",
        str(tmp_path / "home"),
        "9202",
        "thread_pool.write.queue_size=1",
        "action.auto_create_index=false",
    ]


def test_an_unbuilt_node_names_the_setup_script(tmp_path: Path) -> None:
    with pytest.raises(
        NodeUnavailable, match=r"not built in .*: run `bash .ci/setup-search-nodes`"
    ):
        check_built(ENGINES["opensearch"], tmp_path)


def test_a_build_whose_jars_left_the_maven_cache_names_the_setup_script(tmp_path: Path) -> None:
    present, gone = tmp_path / "present.jar", tmp_path / "gone.jar"
    present.write_bytes(b"")
    built(tmp_path, "opensearch", [present, gone])
    with pytest.raises(
        NodeUnavailable, match=r"gone.jar, 1 in all\): run `bash .ci/setup-search-nodes` again"
    ):
        check_built(ENGINES["opensearch"], tmp_path)


def test_versions_come_from_the_launcher_poms() -> None:
    assert ENGINES["opensearch"].version == "2.19.6"
    assert ENGINES["elasticsearch"].version == "8.19.21"


def test_the_ready_line_gives_the_bound_port() -> None:
    # as LocalOpenSearch prints it; OpenSearch's log4j may prefix it when it captures stdout
    line = "[INFO ][stdout] db2api search node ready: opensearch 2.19.6 http://127.0.0.1:43125"
    found = READY.search(line)
    assert found is not None and found.groups() == ("opensearch", "2.19.6", "43125")


def test_last_lines_are_one_line_from_the_start_offset(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("old run\n" + "".join(f"line {n}\n" for n in range(12)) + "\n")
    assert last_lines(log, count=3, start=len("old run\n")) == "line 9 | line 10 | line 11"
    assert last_lines(tmp_path / "absent.log") == "(no log)"


def test_the_node_dies_with_its_parent_where_setpriv_exists() -> None:
    command = with_parent_death_signal(["java", "-version"])
    assert command[-2:] == ["java", "-version"]
    assert command[1:4] == ["--pdeathsig", "KILL", "java"] or command == ["java", "-version"]
