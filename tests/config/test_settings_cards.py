"""No settings value holds a card number: refused naming the key, in-process and as one line of the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.settings import Settings, load_settings
from app.domain.errors import ConfigurationError
from tests.system import processes


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[store]\nfooter = "Thank you! 4111.1111.1111.1111"\n', "store.footer"),
        ('[store]\nphone = "4111/1111/1111/1111"\n', "store.phone"),
        ('[providers.twilio]\nfrom_number = "4111-1111-1111-1111"\n', "providers.twilio.from_number"),
        ("[platforms.shopify]\nshop = 4111111111111111\n", "platforms.shopify.shop"),
        ('[scanner]\nloyalty_prefixes = ["LM", "4111 1111 1111 1111"]\n', "scanner.loyalty_prefixes.1"),
        ('[capture.layout.patterns]\n"4111_1111_1111_1111" = "x"\n', "capture.layout.patterns.(key)"),
    ],
)
def test_a_card_number_in_a_settings_value_is_refused_naming_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "rd.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)
    assert caught.value.message.startswith(f"Settings: {key} looks like a full card number")
    assert "1111" not in caught.value.message


def test_ordinary_settings_pass() -> None:
    settings = Settings.model_validate(
        {"store": {"name": "Test Market", "phone": "+1 (555) 010-0000", "address": "1 Test Street"}}
    )
    assert settings.store.phone == "+1 (555) 010-0000"


def test_the_command_line_says_it_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "rd.toml"
    config.write_text('[store]\nfooter = "Card 4111-1111-1111-1111"\n', encoding="utf-8")
    result = processes.run("queue", "status", config=config, data_dir=tmp_path / "data")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("receiptdesk: Settings: store.footer looks like a full card")
    assert "1111" not in result.stderr + result.stdout and "Traceback" not in result.stderr
