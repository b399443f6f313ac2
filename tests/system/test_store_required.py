"""A real installation names its own store: `serve` refuses without one, and only the demo has its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config.settings import Settings, StoreSettings
from app.demo.wiring import DEMO_STORE, sandbox_settings
from app.domain.exit_codes import ExitCode
from tests.system import processes


@pytest.fixture(scope="module")
def cli() -> Iterator[processes.Commands]:
    """One process for the refusals; each names its own settings file and data folder."""
    with processes.commands() as session:
        yield session


@pytest.mark.parametrize(
    ("store", "named"),
    [("", "name, address and phone"), ('[store]\nname = "Corner Grocer"\nphone = "(217) 555-0199"\n', "address")],
)
def test_serve_without_a_store_refuses_in_one_line_naming_the_keys_and_the_file(
    tmp_path: Path, store: str, named: str, cli: processes.Commands
) -> None:
    config = tmp_path / "receiptdesk.toml"
    config.write_text(store + "\n[api]\nport = 0\n", encoding="utf-8")
    result = cli.run("--config", str(config), "--data-dir", str(tmp_path / "data"), "serve")
    assert result.returncode == ExitCode.FAILED  # a settings problem
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"set {named} under [store] in {config}" in lines[0]
    assert "serving" not in result.stdout


def test_the_demo_store_is_given_only_to_settings_that_name_none() -> None:
    assert Settings().store.missing() == ("name", "address", "phone")
    assert "Demo" not in Settings().store.profile().name
    demo = sandbox_settings(Settings(), "http://127.0.0.1:9")
    assert demo.store.profile() == DEMO_STORE.profile()
    assert demo.providers["sendgrid"]["from_name"] == DEMO_STORE.name
    own = StoreSettings(name="Corner Grocer", address="2 Elm Street", phone="(217) 555-0199", footer="Thanks!")
    kept = sandbox_settings(Settings(store=own), "http://127.0.0.1:9")
    assert kept.store == own
    assert kept.providers["sendgrid"]["from_name"] == "Corner Grocer"
