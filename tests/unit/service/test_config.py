"""The configuration file: defaults, every section read, and clear errors for bad keys."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from openfax.errors import ConfigError
from openfax.service.config_file import RetryCause, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "openfax.toml"
    path.write_text(text)
    return path


def test_defaults_live_under_the_data_folder_from_the_environment(tmp_path: Path) -> None:
    config = load_config(environ={"OPENFAX_DATA_DIR": str(tmp_path / "d")})
    assert config.data_dir == tmp_path / "d"
    assert config.database == str(tmp_path / "d" / "openfax.db")
    assert config.spool_dir == tmp_path / "d" / "spool"
    assert config.loopback.pace == 1.0
    assert config.outgoing.branding
    xdg = load_config(environ={"XDG_DATA_HOME": str(tmp_path / "x")})
    assert xdg.data_dir == tmp_path / "x" / "openfax"
    home = load_config(environ={})
    assert home.data_dir == Path.home() / ".local" / "share" / "openfax"


def test_every_section_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        data_dir = "{tmp_path}"
        node_id = "fax-1"
        [loopback]
        lines = 4
        transport = "t38"
        pace = "unpaced"
        [outgoing]
        retries = 5
        discount_start = "21:30"
        tsid = "+1 555 0100"
        [outgoing.causes.busy]
        delay_minutes = 2
        [outgoing.causes.protocol]
        retryable = false
        [deadlines]
        call_setup_seconds = 30
        """,
    )
    config = load_config(path, data_dir=tmp_path / "other")
    assert config.data_dir == tmp_path / "other", "--data-dir wins over the file"
    assert config.node_id == "fax-1"
    assert (config.loopback.lines, config.loopback.transport) == (4, "t38")
    assert config.loopback.pace is None
    assert config.outgoing.retries == 5
    assert config.outgoing.discount_start == time(21, 30)
    assert config.outgoing.causes[RetryCause.BUSY].delay_minutes == 2
    assert not config.outgoing.causes[RetryCause.PROTOCOL].retryable
    assert config.outgoing.causes[RetryCause.NO_ANSWER].retryable
    assert config.deadlines.call_setup_seconds == 30


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("colour = 1", "colour", "unknown key"),
        ("[loopback]\nline = 2", "loopback.line", "unknown key"),
        ("[loopback]\nlines = -1", "loopback.lines", "not be negative"),
        ('[loopback]\npace = "fast"', "loopback.pace", "unpaced"),
        ('[loopback]\ntransport = "isdn"', "loopback.transport", "one of"),
        ('[outgoing]\nretries = "3"', "outgoing.retries", "whole number"),
        ('[outgoing]\ndiscount_end = "late"', "outgoing.discount_end", "time of day"),
        ("[outgoing.causes.busy]\nretryable = 1", "outgoing.causes.busy.retryable", "true or"),
        ('[outgoing]\ntsid = "' + "9" * 21 + '"', "outgoing.tsid", "20 ASCII"),
        ("[outgoing.causes]\nstrike = {}", "outgoing.causes.strike", "unknown key"),
        ("loopback = 3", "loopback", "table"),
        ("[sip]\ntrunks = {}", "sip.trunks", "must be a list"),
        ('[[sip.trunks]]\nname = "x"', "sip.trunks[0].host", "must name the registrar"),
        (
            '[[sip.trunks]]\nhost = "h"\nmedia_ports = "10000"',
            "sip.trunks[0].media_ports",
            "first-last",
        ),
        ('[[sip.trunks]]\nhost = "h"\nt38 = "maybe"', "sip.trunks[0].t38", "one of"),
        ('[[sip.trunks]]\nhost = "h"\ntransport = "tls"', "sip.trunks[0].transport", "one of"),
        ('[[sip.trunks]]\nhost = "h"\nnumbers = ["12a"]', "sip.trunks[0].numbers", "phone numbers"),
        ('[[sip.trunks]]\nhost = "h"\nchannels = 0', "sip.trunks[0].channels", "greater than 0"),
        ('[[sip.trunks]]\nhost = "h"\nport = 70000', "sip.trunks[0].port", "must be a port"),
        ('[[sip.trunks]]\nhost = "h"\ncodec = "g729"', "sip.trunks[0].codec", "unknown key"),
        (
            '[[sip.trunks]]\nhost = "h"\nregister_retry = 0',
            "sip.trunks[0].register_retry",
            "greater than 0",
        ),
        (
            '[[sip.trunks]]\nhost = "h"\nnot_found_window = -1',
            "sip.trunks[0].not_found_window",
            "must not be negative",
        ),
        ('[sip]\ndns_servers = ["ns.example"]', "sip.dns_servers", "IP address"),
        ('[sip]\ndns_servers = ["127.0.0.1:99999"]', "sip.dns_servers", "port 1-65535"),
        ('[sip]\ndns_servers = "127.0.0.1"', "sip.dns_servers", "must be a list"),
        ("[sip]\ndns_timeout = 0", "sip.dns_timeout", "greater than 0"),
        ("[api]\nmax_upload_mb = 0", "api.max_upload_mb", "greater than 0"),
        ("[api]\nmax_connections_per_client = -1", "api.max_connections_per_client", "than 0"),
        ("[api]\nheader_timeout_seconds = 0", "api.header_timeout_seconds", "greater than 0"),
        ("[api]\nupload_wait_seconds = -1", "api.upload_wait_seconds", "not be negative"),
        ("[api]\nidle_timeout_seconds = inf", "api.idle_timeout_seconds", "finite"),
        ("[api]\nmax_connections = 1e12", "api.max_connections", "whole number"),
        ("[api]\nmax_upload_mb = 1000000", "api.max_upload_mb", "at most 65,536"),
        (
            "[outgoing.causes.busy]\ndelay_minutes = inf",
            "outgoing.causes.busy.delay_minutes",
            "finite",
        ),
        (
            "[outgoing.causes.busy]\ndelay_minutes = nan",
            "outgoing.causes.busy.delay_minutes",
            "finite",
        ),
        (
            "[outgoing]\nage_limit_days = 100000000000000",
            "outgoing.age_limit_days",
            "at most 36,500",
        ),
        ("[archive]\nincoming_age_limit_days = 36501", "archive.incoming_age_limit_days", "36,500"),
        ("[outgoing]\nretries = 9223372036854775807", "outgoing.retries", "at most 99"),
        ("[outgoing]\nkill_time_minutes = 1e300", "outgoing.kill_time_minutes", "at most"),
        ("[outgoing]\nmax_recipients = 0", "outgoing.max_recipients", "greater than 0"),
        ("[receipts]\nretry_delay_minutes = 1e9", "receipts.retry_delay_minutes", "at most 10,080"),
        (
            "[incoming]\nrouting_retry_delay_minutes = -inf",
            "incoming.routing_retry_delay_minutes",
            "finite",
        ),
        ("[deadlines]\nrender_seconds = inf", "deadlines.render_seconds", "finite"),
        ("[loopback]\npace = nan", "loopback.pace", "finite"),
        (
            '[[sip.trunks]]\nhost = "h"\nring_timeout = 1e12',
            "sip.trunks[0].ring_timeout",
            "at most",
        ),
        ('[api]\ntls_certificate = "c.pem"', "api.tls_key", "missing"),
        ('[api]\ntls_key = "k.pem"', "api.tls_key", "without tls_certificate"),
        ('[api]\ntls_key = ""\ntls_certificate = "c.pem"', "api.tls_key", "must be a path"),
        ('[api]\nmetrics_from = ["localhost"]', "api.metrics_from", "'localhost' does not"),
        ('[api]\nmetrics_from = "127.0.0.1"', "api.metrics_from", "must be a list"),
        ('[api]\nmetrics_from = ["10.0.0.0/33"]', "api.metrics_from", "nor 'unix'"),
        ('[log]\nformat = "xml"', "log.format", "one of"),
        ("[office]\ntimeout_seconds = 0", "office.timeout_seconds", "greater than 0"),
        ("[office]\nmax_pages = -1", "office.max_pages", "greater than 0"),
        ("[office]\nisolate_network = 1", "office.isolate_network", "true or false"),
        ('[office]\nsofice = "soffice"', "office.sofice", "unknown key"),
    ],
)
def test_bad_keys_and_values_are_named_with_the_file(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert str(path) in str(caught.value)


def test_a_missing_or_broken_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[loopback"), environ={})


def test_sip_trunks_are_read_with_their_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[sip.trunks]]
        name = "carrier"
        host = "sip.example.net"
        transport = "tcp"
        register = true
        username = "4930123456"
        password = "secret"
        numbers = ["+4930123456", "+49 30 123457"]
        channels = 4
        t38 = "request"
        media_ports = "20000-20999"

        [[sip.trunks]]
        host = "pbx.local"
        """,
    )
    config = load_config(path, environ={})
    carrier, pbx = config.sip.trunks
    assert (carrier.name, carrier.transport, carrier.channels, carrier.t38) == (
        "carrier",
        "tcp",
        4,
        "request",
    )
    assert carrier.numbers == ("+4930123456", "+49 30 123457")
    assert carrier.media_port_range == range(20000, 21000)
    assert (pbx.host, pbx.port, pbx.t38, pbx.channels, pbx.numbers) == (
        "pbx.local",
        None,  # located by DNS (RFC 3263)
        "accept",
        1,
        (),
    )
    assert (config.sip.dns_servers, config.sip.dns_timeout) == ((), 5.0)


def test_the_dns_servers_that_locate_trunks_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [sip]
        dns_servers = ["127.0.0.1:5353", "[::1]:53"]
        dns_timeout = 2

        [[sip.trunks]]
        host = "carrier.example"
        """,
    )
    config = load_config(path, environ={})
    assert config.sip.dns_servers == ("127.0.0.1:5353", "[::1]:53")
    assert config.sip.dns_timeout == 2.0


def test_tls_files_are_found_beside_the_configuration_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\ntls_certificate = "tls/api.crt"\ntls_key = "/etc/api.key"')
    api = load_config(path, environ={}).api
    assert (api.tls_certificate, api.tls_key) == (
        tmp_path / "tls" / "api.crt",
        Path("/etc/api.key"),
    )
    assert load_config(environ={}).api.tls_certificate is None


def test_the_email_gateway_is_off_by_default_and_its_senders_are_checked(tmp_path: Path) -> None:
    assert not load_config(data_dir=tmp_path).email_gateway.enabled
    path = write(
        tmp_path,
        """
        [email_gateway]
        enabled = true
        listen = "0.0.0.0:25"
        tls_certificate = "tls/gw.crt"
        tls_key = "tls/gw.key"
        senders = [
            { address = "Scanner@Example.com", account = "frontdesk" },
            { address = "example.org", account = "office" },
        ]
        """,
    )
    gateway = load_config(path, data_dir=tmp_path).email_gateway
    assert gateway.enabled
    assert gateway.tls_certificate == tmp_path / "tls" / "gw.crt"
    assert [(s.address, s.account) for s in gateway.senders] == [
        ("Scanner@Example.com", "frontdesk"),
        ("example.org", "office"),
    ]
    assert (gateway.max_message_mb, gateway.max_recipients) == (25, 50)
    for table, key in [
        ('senders = [{ address = "not an address", account = "a" }]', "senders[0].address"),
        ('senders = [{ address = "a@example.com", account = "" }]', "senders[0].account"),
        ("max_attachments = 0", "max_attachments"),
        ('tls_key = "k.pem"', "tls_key"),
    ]:
        with pytest.raises(ConfigError) as refused:
            load_config(write(tmp_path, f"[email_gateway]\n{table}\n"), data_dir=tmp_path)
        assert refused.value.key == f"email_gateway.{key}"


def test_ocr_is_on_by_default_and_its_limits_are_checked(tmp_path: Path) -> None:
    ocr = load_config(data_dir=tmp_path).ocr
    assert (ocr.enabled, ocr.languages, ocr.workers, ocr.page_limit) == (True, ("eng",), 1, 20)
    path = write(tmp_path, '[ocr]\nlanguages = ["eng", "chi_sim"]\nworkers = 2\n')
    assert load_config(path, data_dir=tmp_path).ocr.languages == ("eng", "chi_sim")
    for table, key in [
        ("languages = []", "languages"),
        ('languages = ["../eng"]', "languages"),
        ("workers = 0", "workers"),
        ("workers = 65", "workers"),
        ("page_limit = 1001", "page_limit"),
        ("time_limit_seconds = 0", "time_limit_seconds"),
        ('command = " "', "command"),
    ]:
        with pytest.raises(ConfigError) as refused:
            load_config(write(tmp_path, f"[ocr]\n{table}\n"), data_dir=tmp_path)
        assert refused.value.key == f"ocr.{key}"
