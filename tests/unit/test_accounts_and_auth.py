"""Exchange accounts keep their secrets out of every repr; API tokens are kept as digests only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from r3edge_streams.accounts import Accounts, AccountsError
from r3edge_streams.config import SettingsError, load_settings

SECRET = "s3cr3t-VALUE-never-shown"


def write(tmp_path: Path, content: object, mode: int = 0o600) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(content))
    os.chmod(path, mode)
    return path


def test_accounts_load_and_never_show_their_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, {"main": {"exchange": "binance", "api_key": "KEY-123456", "secret": SECRET}})
    accounts = Accounts.load(path)
    account = accounts.get("main")
    assert account is not None and account.exchange == "binance" and accounts.names() == ["main"]
    assert account.secret.reveal() == SECRET
    shown = f"{account!r} {account} {account.secret} {[account.secret]}"
    assert SECRET not in shown and "KEY-123456" not in shown and "***" in shown


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        ({"main": {"exchange": "binance", "api_key": "k", "secret": SECRET}}, 0o644, "readable by others"),
        ({"main": {"exchange": "binance", "api_key": "k"}}, 0o600, "must have exchange, api_key, secret"),
        ({"main": {"exchange": "binance", "api_key": "k", "secret": SECRET, "extra": "x"}}, 0o600, "must have"),
        ({"bad name": {"exchange": "binance", "api_key": "k", "secret": SECRET}}, 0o600, "account name"),
        ([1, 2], 0o600, "JSON object"),
    ],
)
def test_bad_accounts_files_are_refused_without_quoting_secrets(
    tmp_path: Path, content: object, mode: int, message: str
) -> None:
    with pytest.raises(AccountsError, match=message) as caught:
        Accounts.load(write(tmp_path, content, mode))
    assert SECRET not in str(caught.value)


def test_a_missing_accounts_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AccountsError, match="cannot read accounts file"):
        Accounts.load(tmp_path / "nope.json")
    assert Accounts.load(None).names() == []


def test_api_tokens_are_kept_as_digests_with_their_scope() -> None:
    token = "trader-token-abcdefghijkl"
    settings = load_settings({"R3EDGE_API_TOKENS": f"trader:{token}, read:reader-token-abcdefgh"})
    assert [scope for scope, _ in settings.api_tokens] == ["trader", "read"]
    assert token not in repr(settings) and all(len(digest) == 64 for _, digest in settings.api_tokens)
    for bad in ("admin:abcdefghijklmnopq", "trader:short", "trader"):
        with pytest.raises(SettingsError, match="R3EDGE_API_TOKENS") as caught:
            load_settings({"R3EDGE_API_TOKENS": bad})
        assert "abcdefghijklmnopq" not in str(caught.value)
