"""The pure half of the search nodes: engines, the launcher's command line, build checks.

Nothing here starts a process, so it is tested without Java
(tests/unit/support/test_search_nodes.py).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NODES_DIR = ROOT / ".db2api" / "nodes"
SOURCES_DIR = ROOT / "tests" / "support" / "nodes"
SETUP = "bash .ci/setup-search-nodes"
READY = re.compile(r"db2api search node ready: (\S+) (\S+) http://127\.0\.0\.1:(\d+)")
HEAP_MB = 512
LOG_LINES_QUOTED = 8
SettingValue = str | int | float | bool


class NodeUnavailable(RuntimeError):
    """Java or the built launcher is missing: the machine cannot run this engine."""


class NodeStartError(RuntimeError):
    """The node process ran but did not become ready (its log's last lines are quoted)."""


@dataclass(frozen=True)
class Engine:
    name: str
    main_class: str
    version_property: str

    @property
    def version(self) -> str:
        """The version the launcher's POM pins: one place to change it."""
        pom = (SOURCES_DIR / self.name / "pom.xml").read_text(encoding="utf-8")
        found = re.search(rf"<{re.escape(self.version_property)}>([^<]+)<", pom)
        if found is None:
            raise RuntimeError(
                f"no <{self.version_property}> in the {self.name} launcher's pom.xml"
            )
        return found.group(1)


ENGINES: dict[str, Engine] = {
    "opensearch": Engine("opensearch", "LocalOpenSearch", "opensearch.version"),
    "elasticsearch": Engine("elasticsearch", "LocalElasticsearch", "elasticsearch.version"),
}


def free_port() -> int:
    """A loopback port free right now (another process may take it before it is bound)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_java() -> str:
    """JAVA_HOME's java, else the one on PATH (Java 17 or newer)."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home, "bin", "java") if home else None
    if candidate is not None and candidate.is_file():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise NodeUnavailable(f"no java on PATH or in JAVA_HOME: run `{SETUP}` (installs Java 17)")
    return found


def format_setting(key: str, value: SettingValue) -> str:
    """One ``key=value`` argument of the launcher; booleans as the engines spell them."""
    if not key or "=" in key or key != key.strip():
        raise ValueError(f"node setting name {key!r} is not a setting key such as 'http.port'")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if "\n" in text:
        raise ValueError(f"node setting {key} has a line break in its value {text!r}")
    return f"{key}={text}"


def java_command(
    java: str,
    engine: Engine,
    build: Path,
    home: Path,
    port: int,
    settings: Mapping[str, SettingValue] = {},
    heap_mb: int = HEAP_MB,
) -> list[str]:
    """The command line that starts one node from the built launcher in ``build``."""
    class_path = [str(build / "classes"), *read_class_path(build)]
    return [
        java,
        f"-Xms{heap_mb}m",
        f"-Xmx{heap_mb}m",
        "-Dfile.encoding=UTF-8",
        "-cp",
        os.pathsep.join(class_path),
        engine.main_class,
        str(home),
        str(port),
        *(format_setting(key, value) for key, value in settings.items()),
    ]


def read_class_path(build: Path) -> list[str]:
    return [
        part for part in (build / "classpath.txt").read_text().strip().split(os.pathsep) if part
    ]


def check_built(engine: Engine, nodes_dir: Path = NODES_DIR) -> Path:
    """The engine's build folder, or NodeUnavailable naming the setup script."""
    build = nodes_dir / engine.name
    main = build / "classes" / f"{engine.main_class}.class"
    if not main.is_file() or not (build / "classpath.txt").is_file():
        raise NodeUnavailable(f"the {engine.name} node is not built in {build}: run `{SETUP}`")
    missing = [jar for jar in read_class_path(build) if not Path(jar).is_file()]
    if missing:
        raise NodeUnavailable(
            f"the {engine.name} node's jars are gone from the Maven cache ({missing[0]}, "
            f"{len(missing)} in all): run `{SETUP}` again"
        )
    return build


def last_lines(path: Path, count: int = LOG_LINES_QUOTED, start: int = 0) -> str:
    """The log's last lines after byte ``start``, joined into one line for an error message."""
    try:
        with path.open("rb") as log:
            log.seek(start)
            text = log.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return "(no log)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(empty log)"


def with_parent_death_signal(command: Sequence[str]) -> list[str]:
    """Prefix ``setpriv --pdeathsig KILL`` where it exists: the node dies with its starter.

    Linux sends the signal when the *thread* that started the node ends, so start nodes from
    a thread that lives as long as they should (pytest fixtures run in the main thread).
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", *command] if setpriv else list(command)


def parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    """``key=value`` arguments of the command line, as node settings."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(
                f"node setting {pair!r} is not key=value, e.g. http.max_content_length=2kb"
            )
        format_setting(key, value)
        settings[key] = value
    return settings
