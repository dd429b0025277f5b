"""flows/settings.py: one object, the HTTP section inside it, one way to override, loud errors."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.settings import (
    Settings,
    http_fields,
    load_settings,
    settings_for,
    settings_scope,
)
from transforms.errors import ConfigError
from transforms.limits import MAX_BODY_BYTES
from web import HttpOptions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no .env file
    for name in [k for k in os.environ if k.startswith("NEWSFLOW_")]:
        monkeypatch.delenv(name)
    yield


def test_the_http_section_defaults_are_httpoptions_defaults() -> None:
    assert load_settings().http == HttpOptions()


def test_each_http_setting_feeds_one_httpoptions_field() -> None:
    options = {f.name for f in dataclasses.fields(HttpOptions)}
    fields = http_fields()
    assert len(fields) == 14  # 11, then contact, max_crawl_delay and retry_after_cap (issue 12)
    assert set(fields.values()) <= options
    assert len(set(fields.values())) == len(fields)
    for name, option in fields.items():
        assert Settings.model_fields[name].default == getattr(HttpOptions(), option), name


def test_environment_reaches_the_http_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_MAX_BODY_BYTES", "123456")
    monkeypatch.setenv("NEWSFLOW_USER_AGENT", "test-agent/1")
    monkeypatch.setenv("NEWSFLOW_PER_HOST_DELAY_S", "0.25")
    settings = load_settings()
    assert settings.max_body_bytes == 123456
    assert settings.http.max_bytes == 123456
    assert settings.http.user_agent == "test-agent/1"
    assert settings.http.per_host_delay == 0.25
    assert settings.http_options() is settings.http  # the old name: the same section
    # options with no setting keep HttpOptions' own values
    assert settings.http.backoff_cap == HttpOptions().backoff_cap


def test_the_body_cap_is_written_once() -> None:
    written = {str(path.relative_to(ROOT)): count for path in sorted(ROOT.glob("*/**/*.py"))
               if not path.is_relative_to(ROOT / "tests") and ".venv" not in path.parts
               and (count := path.read_text(encoding="utf-8").count("15 * 1024 * 1024")
                    + path.read_text(encoding="utf-8").count("15728640"))}
    assert written == {"transforms/limits.py": 1}
    assert HttpOptions().max_bytes == MAX_BODY_BYTES == Settings().max_body_bytes


def test_settings_for_drops_what_was_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_DB_PATH", "from-env.duckdb")
    assert settings_for().db_path == Path("from-env.duckdb")
    assert settings_for(db_path=None, feeds_file=None).db_path == Path("from-env.duckdb")
    chosen = settings_for(db_path="given.duckdb", feeds_file=Path("f.opml"), run_checks=False,
                          dask_address=None)
    assert chosen.db_path == Path("given.duckdb") and chosen.feeds_file == Path("f.opml")
    assert chosen.run_checks is False and chosen.dask_address is None


def test_a_misspelt_variable_names_itself_and_the_likely_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_MAX_BODY_BYTE", "1")
    with pytest.raises(ConfigError) as caught:
        settings_for()
    assert caught.value.user_message() == (
        "configuration error: unknown setting NEWSFLOW_MAX_BODY_BYTE (did you mean "
        "NEWSFLOW_MAX_BODY_BYTES?); fix or unset it (README, 'Configuration', lists every "
        "setting)")
    assert caught.value.exit_code == 2
    assert isinstance(caught.value, ValueError)  # what check_environment raised before


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_MAX_ATTEMPTS", "three")
    with pytest.raises(ConfigError, match=r"^NEWSFLOW_MAX_ATTEMPTS: Input should be a valid "
                                          r"integer.*\(got 'three'\)"):
        load_settings()
    with pytest.raises(ConfigError, match="NEWSFLOW_EXTRACT_TIMEOUT_S"):
        settings_for(extract_timeout_s="soon")


def test_a_scope_overrides_inside_it_only_and_never_touches_the_environment() -> None:
    with settings_scope(allow_private_addresses=True, per_host_concurrency=8):
        inside = settings_for(db_path="x.duckdb")
        explicit = settings_for(per_host_concurrency=3)
        assert not any(k.startswith("NEWSFLOW_") for k in os.environ)
    assert inside.http.allow_private and inside.http.per_host_concurrency == 8
    assert inside.db_path == Path("x.duckdb")
    assert explicit.per_host_concurrency == 3  # a caller's own value wins over the scope
    after = settings_for()
    assert not after.allow_private_addresses and after.per_host_concurrency == 2


def test_no_settings_are_written_to_the_environment_by_the_cli() -> None:
    import re

    for path in sorted([*(ROOT / "flows").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"os\.environ(\[[^]]*NEWSFLOW_|\.setdefault\(\s*\"NEWSFLOW_)",
                             text), path


def test_no_sql_anywhere_in_flows() -> None:
    import re

    sql = re.compile(r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|CREATE\s+(TABLE|VIEW)|UPDATE\s+\w+\s+SET|"
                     r"DELETE\s+FROM)\b", re.IGNORECASE | re.DOTALL)
    # flows/ holds recipes; the storage side of each stage, its SQL included, is warehouse/'s
    for path in sorted((ROOT / "flows").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not sql.search(line), f"{path}:{n}: {line.strip()}"


def test_the_user_agent_names_newsflow_and_the_contact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_CONTACT", "ops@example.org")
    agent = load_settings().http.agent
    assert agent.startswith("newsflow/") and "contact: ops@example.org" in agent
    monkeypatch.setenv("NEWSFLOW_USER_AGENT", "my-crawler/2")
    assert load_settings().http.agent == "newsflow/0.1 my-crawler/2 (contact: ops@example.org)"
