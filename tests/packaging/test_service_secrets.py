"""A service's secrets: from its environment, or a file each in CREDENTIALS_DIRECTORY (systemd's
LoadCredential=, the Windows service's locked-down folder); the keyring is never asked for them."""

from __future__ import annotations

from pathlib import Path

from keyring.backends.null import Keyring as NullKeyring

from app.config.secrets import SecretStore, env_name


def test_a_secret_is_read_from_its_file_in_the_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / env_name("twilio", "auth_token")).write_text("tok-from-file\n", encoding="utf-8")
    store = SecretStore(env={"CREDENTIALS_DIRECTORY": str(tmp_path)}, backend=NullKeyring())
    assert store.get("twilio", "auth_token") == "tok-from-file"
    assert store.get("sendgrid", "api_key") is None


def test_a_file_saved_by_notepad_with_a_bom_and_crlf_reads_the_same(tmp_path: Path) -> None:
    (tmp_path / "RECEIPTDESK_SENDGRID_API_KEY").write_bytes(b"\xef\xbb\xbfSG.key\r\n")
    store = SecretStore(env={"CREDENTIALS_DIRECTORY": str(tmp_path)}, backend=NullKeyring())
    assert store.get("sendgrid", "api_key") == "SG.key"


def test_the_environment_wins_over_the_folder_and_an_empty_file_is_no_secret(tmp_path: Path) -> None:
    (tmp_path / "RECEIPTDESK_TWILIO_AUTH_TOKEN").write_text("from-file", encoding="utf-8")
    (tmp_path / "RECEIPTDESK_SENDGRID_API_KEY").write_text("\n", encoding="utf-8")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "RECEIPTDESK_TWILIO_AUTH_TOKEN": "from-env"}
    store = SecretStore(env=env, backend=NullKeyring())
    assert store.get("twilio", "auth_token") == "from-env"
    assert store.get("sendgrid", "api_key") is None


def test_no_folder_or_a_missing_one_means_no_secret(tmp_path: Path) -> None:
    assert SecretStore(env={}, backend=NullKeyring()).get("twilio", "auth_token") is None
    missing = {"CREDENTIALS_DIRECTORY": str(tmp_path / "nowhere")}
    assert SecretStore(env=missing, backend=NullKeyring()).get("twilio", "auth_token") is None
