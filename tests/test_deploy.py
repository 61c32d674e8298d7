"""The deployment kit of docs/DEPLOY.md: the systemd unit and the environment file."""

from __future__ import annotations

import configparser
import getpass
import re
import shutil
import subprocess

import pytest

from bot.config import ENV_PREFIX, load_config
from tests.conftest import ROOT

UNIT = ROOT / "deploy" / "natverksboten.service"
ENV_EXAMPLE = ROOT / "deploy" / "natverksboten.env.example"
INSTALLED_AT = "/opt/natverksboten"
CONFIG_AT = "/etc/natverksboten/config.yaml"
DATA_AT = "/var/lib/natverksboten"


def unit_settings() -> dict[str, dict[str, list[str]]]:
    """Every key of every section of the unit, with all its values (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_unit_runs_the_bot_unprivileged_restarts_on_failure_and_is_confined():
    service = unit_settings()["Service"]
    one = {key: values[-1] for key, values in service.items()}
    # The code in the checkout, the config named explicitly (no implicit lookup).
    assert one["ExecStart"] == (f"{INSTALLED_AT}/.venv/bin/natverksbot --config {CONFIG_AT} run")
    assert one["User"] not in ("root", "0") and one["Group"] not in ("root", "0")
    assert one["EnvironmentFile"] == "/etc/natverksboten/natverksboten.env"
    assert one["Restart"] == "on-failure" and one["KillSignal"] == "SIGTERM"
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert one[key] == "yes", key
    assert one["ProtectSystem"] == "strict"
    # Writable: exactly the data folder, which holds the knowledge and state folders of
    # the config `natverksbot init` writes; nothing of the checkout.
    assert one["ReadWritePaths"].split() == [DATA_AT]
    assert one["WorkingDirectory"] == DATA_AT
    assert not any(INSTALLED_AT in v for v in service["Environment"])
    # The token only ever comes from the root-only environment file.
    assert not any("DISCORD_TOKEN" in v for v in service.get("Environment", []))


def test_the_config_init_writes_names_folders_inside_the_units_writable_data_folder(tmp_path):
    from bot.services.data_folder import init_data_folder

    data, config_file = tmp_path / DATA_AT.lstrip("/"), tmp_path / CONFIG_AT.lstrip("/")
    init_data_folder(data, config_file)
    config = load_config(config_file, environ={})

    for folder in (config.knowledge_dir, config.state_dir, config.index_path):
        assert folder.is_relative_to(data)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    # The unit as installed in this checkout: systemd checks that ExecStart exists.
    if not (ROOT / ".venv" / "bin" / "natverksbot").exists():
        pytest.skip("no .venv/bin/natverksbot in this checkout (run ./run once)")
    text = UNIT.read_text(encoding="utf-8").replace(INSTALLED_AT, str(ROOT))
    text = text.replace("User=natverksbot", f"User={getpass.getuser()}")
    text = text.replace("Group=natverksbot", "Group=root")
    unit = tmp_path / "natverksboten.service"
    unit.write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    # verify exits 0 on some bad settings (it ignores them with a warning): any line
    # about the unit is a failure too.
    about_unit = [line for line in done.stderr.splitlines() if "natverksboten" in line]
    assert done.returncode == 0 and about_unit == [], done.stderr


FIRST_INDEX_PEAK = 2.6e9
"""Bytes the first index of the knowledge folder took at its peak (issue 18)."""


def size_in_bytes(value: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([KMGT]?)", value).groups()
    return float(number) * 1024 ** " KMGT".index(unit or " ")


def test_the_unit_confines_capabilities_system_calls_proc_and_resources():
    service = unit_settings()["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["CapabilityBoundingSet"] == ""  # no capability at all
    assert service["SystemCallFilter"] == ["@system-service"]
    assert one["SystemCallArchitectures"] == "native"
    assert (one["ProtectProc"], one["ProcSubset"]) == ("invisible", "pid")
    assert one["RemoveIPC"] == "yes"
    assert size_in_bytes(one["MemoryMax"]) > 1.2 * FIRST_INDEX_PEAK
    assert 64 <= int(one["TasksMax"]) <= 4096
    # getaddrinfo does without netlink (it is only for AI_ADDRCONFIG), so none is allowed.
    assert set(one["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    # Denying private addresses would also deny a DNS server or database on one: shipped
    # commented out, ready to turn on.
    assert "IPAddressDeny" not in service
    assert re.search(r"^#IPAddressDeny=\S", UNIT.read_text(encoding="utf-8"), re.MULTILINE)


def test_nothing_of_ours_reads_what_proc_subset_pid_hides():
    # ProcSubset=pid leaves only the processes' own folders in /proc: no cpuinfo, meminfo ...
    readers = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("bot", "index")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"/proc/(?!self/|thread-self/|\{)", line)
    ]
    assert readers == []


def systemd_analyze_offline() -> str | None:
    """Return why `systemd-analyze security --offline` cannot run here, or None if it can."""
    if shutil.which("systemd-analyze") is None:
        return "systemd is not installed"
    done = subprocess.run(
        ["systemd-analyze", "--version"], capture_output=True, text=True, check=False
    )
    version = re.match(r"systemd (\d+)", done.stdout)
    if version is None or int(version.group(1)) < 250:
        return f"systemd-analyze security --offline needs systemd 250 ({done.stdout[:20]!r})"
    return None


@pytest.mark.skipif(systemd_analyze_offline() is not None, reason=str(systemd_analyze_offline()))
def test_systemd_analyze_security_scores_the_unit_at_most_2_5():
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for natverksboten\.service: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.5, done.stdout


def env_file_lines(text: str, *, commented: bool) -> dict[str, str]:
    """Parse KEY=VALUE lines as systemd's EnvironmentFile= does (with ``commented``, the
    commented-out examples too)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if commented and re.match(r"#[A-Z_]+=", line):
            line = line[1:]
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), line
        values[key] = value.strip().strip('"')
    return values


@pytest.mark.parametrize("commented", [False, True], ids=["as shipped", "every example on"])
def test_the_environment_example_parses_and_every_override_is_a_valid_config_key(commented):
    values = env_file_lines(ENV_EXAMPLE.read_text(encoding="utf-8"), commented=commented)
    assert values["DISCORD_TOKEN"]
    overrides = {k: v for k, v in values.items() if k.startswith(ENV_PREFIX)}
    assert set(values) - set(overrides) == {"DISCORD_TOKEN"}
    config = load_config(ROOT / "config.yaml", environ=overrides)
    assert config.sync.interval_minutes == 5
    if commented:
        assert config.discord.staff_guild_ids == [123456789012345678]
        assert config.knowledge.trash_days == 30
        assert config.model.name.endswith("sentence-bert-swedish-cased")
        assert values["NATVERKSBOT_USER_SALT"]


def test_a_typo_in_the_environment_file_is_caught_by_the_config_check():
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="sync.intervall_minutes: unknown key"):
        load_config(ROOT / "config.yaml", environ={"NATVERKSBOT_SYNC__INTERVALL_MINUTES": "5"})


def test_configparser_reads_the_unit_as_systemd_style_ini():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment]
    parser.read(UNIT, encoding="utf-8")
    assert parser.sections() == ["Unit", "Service", "Install"]
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_the_unit_waits_for_ready_and_watches_the_event_loop():
    service = {key: values[-1] for key, values in unit_settings()["Service"].items()}
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    watchdog = int(service["WatchdogSec"])
    # The bot pings every health.heartbeat_seconds (at least twice per watchdog period).
    heartbeat = load_config(ROOT / "config.yaml", environ={}).health.heartbeat_seconds
    assert heartbeat * 2 <= watchdog
    assert "AF_UNIX" in service["RestrictAddressFamilies"]  # $NOTIFY_SOCKET
