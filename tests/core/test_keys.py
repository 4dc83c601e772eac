"""The audit and backup keyrings: where they come from, what is refused, rotation."""

from __future__ import annotations

import stat

import pytest

from qms.keys import KeyringError, load_keyring, read_key_file, rotate


def test_a_key_file_is_created_once_private_and_rotated(tmp_path):
    ring = load_keyring("audit", tmp_path, environ={})
    path = tmp_path / "audit.key"
    assert ring.path == path and ring.current == "audit-1" and len(ring.current_key) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring("audit", tmp_path, environ={}).keys == ring.keys  # read again, not replaced
    assert rotate(ring) == "audit-2"
    rotated = read_key_file(path)
    assert rotated.current == "audit-2" and set(rotated.keys) == {"audit-1", "audit-2"}
    assert rotated.keys["audit-1"] == ring.keys["audit-1"]


def test_keys_from_the_environment(tmp_path):
    one = load_keyring("backup", tmp_path, environ={"QMS_BACKUP_KEY": "s" * 40})
    assert (one.current, one.source, one.path) == ("env", "QMS_BACKUP_KEY", None)
    two = load_keyring("audit", tmp_path, environ={"QMS_AUDIT_KEY": f"2026a:{'a' * 32}, 2027a:{'b' * 32}"})
    assert two.current == "2027a" and two.key("2026a") == b"a" * 32
    assert not (tmp_path / "audit.key").exists()
    with pytest.raises(KeyringError, match="add the new key there"):
        rotate(two)
    custom = tmp_path / "elsewhere" / "keys"
    ring = load_keyring("audit", tmp_path, environ={"QMS_AUDIT_KEY_FILE": str(custom)})
    assert ring.path == custom and custom.is_file()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short", "shorter than 32 characters"),
        (f"bad id!:{'x' * 32}", "key id 'bad id!' must be"),
        (f"a:{'x' * 32},a:{'y' * 32}", "listed twice"),
        (f"a:{'x' * 32},{'y' * 32}", "write each key as id:secret"),
    ],
)
def test_unusable_keys_stop_the_app_naming_the_variable(tmp_path, value, message):
    with pytest.raises(KeyringError, match=message) as caught:
        load_keyring("audit", tmp_path, environ={"QMS_AUDIT_KEY": value})
    assert "QMS_AUDIT_KEY" in str(caught.value)


def test_a_damaged_key_file_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "audit.key"
    path.write_text(f"# comment\nk1 {'x' * 40}\nk2\n")
    with pytest.raises(KeyringError, match="line 3"):
        read_key_file(path)
    path.write_text("# nothing but a comment\n")
    with pytest.raises(KeyringError, match="holds no key"):
        read_key_file(path)
