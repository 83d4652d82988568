"""The production files in deploy/ as an operator would use them: systemd accepts the units, and
nginx (deploy/nginx.conf, only its ports and certificate changed) proxies a signed WhatsApp
webhook and a Telegram webhook over TLS to two `bpu-bot run` processes on one PostgreSQL,
spreading them over both."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from storage.db import is_sqlite
from tests.channels.fake_graph import FakeGraph
from tests.channels.fake_telegram import FakeTelegram
from tests.processes import BIN, both_channels_env, free_port, signed, start, stop, wait_healthy
from tests.waiting import eventually

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SAMPLES = Path(__file__).resolve().parents[1] / "channels" / "data" / "whatsapp"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="needs systemd-analyze (Debian: apt-get install systemd)")
def test_systemd_accepts_the_units_without_a_warning(tmp_path: Path) -> None:
    # Only the install path changes: the bpu-bot of this checkout stands in for /opt/bpu-bot's.
    for unit in ("bpu-bot@.service", "bpu-bot-migrate.service"):
        text = (DEPLOY / unit).read_text().replace("/opt/bpu-bot/.venv/bin/bpu-bot", str(BIN))
        (tmp_path / unit).write_text(text)
    checked = subprocess.run(
        [
            str(SYSTEMD_ANALYZE),
            "verify",
            str(tmp_path / "bpu-bot@1.service"),
            str(tmp_path / "bpu-bot-migrate.service"),
        ],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def _nginx_config(tmp_path: Path, upstreams: list[int], http_port: int, tls_port: int) -> Path:
    cert, key = _self_signed(tmp_path)
    site = (DEPLOY / "nginx.conf").read_text()
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;\n" for port in upstreams)
    site = re.sub(r"(?m)^    server 127\.0\.0\.1:808\d [^\n]*\n", "", site)
    site = site.replace("upstream bpu_bot {\n", "upstream bpu_bot {\n" + servers, 1)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;")
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    (tmp_path / "site.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\ndaemon off;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"  log_format upstream '$request_uri $status $upstream_addr';\n"
        f"  access_log {tmp_path}/access.log upstream;\n"
        f"  client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;\n"
        f"  fastcgi_temp_path {tmp_path}/fcgi; uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;\n"
        f"  include {tmp_path}/site.conf;\n"
        "}\n"
    )
    return main


def _telegram_update(n: int, chat: int, text: str) -> dict[str, object]:
    sender = {"id": chat, "is_bot": False, "first_name": "Ani"}
    message = {"message_id": n, "date": int(time.time()), "chat": {"id": chat, "type": "private"}, "from": sender,
               "text": text}  # fmt: skip
    return {"update_id": 9000 + n, "message": message}


@pytest.mark.skipif(not Path(NGINX).exists(), reason="needs nginx: apt-get install nginx-light (.ci/run does it)")
async def test_nginx_proxies_both_webhooks_over_tls_to_two_processes(tmp_path: Path, db_url: str) -> None:
    if is_sqlite(db_url):
        pytest.skip("several bpu-bot processes share one database on PostgreSQL only")
    http_port, tls_port = free_port(), free_port()
    base = f"https://127.0.0.1:{tls_port}"
    fake = await FakeTelegram().start()
    graph = FakeGraph()
    graph_url = await graph.serve()
    env = both_channels_env(fake, graph_url, db_url, "deploy-webhook-secret",
                            TELEGRAM_WEBHOOK_URL=f"{base}/webhook/telegram")  # fmt: skip
    bots = []
    nginx = None
    try:
        for n in (1, 2):
            folder = tmp_path / f"bot{n}"
            folder.mkdir()
            bots.append(start(folder, **env))
        for proc, bot_base in bots:
            await wait_healthy(bot_base, proc)
        ports = [int(bot_base.rsplit(":", 1)[1]) for _, bot_base in bots]
        config = _nginx_config(tmp_path, ports, http_port, tls_port)
        nginx = subprocess.Popen([NGINX, "-c", str(config), "-p", str(tmp_path)], stderr=subprocess.PIPE, text=True)
        trust = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))  # the platforms check it too
        async with httpx.AsyncClient(base_url=base, verify=trust, timeout=20) as client:
            await eventually(lambda: _up(client), seconds=15)
            plain = await httpx.AsyncClient().get(f"http://127.0.0.1:{http_port}/healthz")
            assert plain.status_code == 301 and plain.headers["location"].startswith("https://")
            assert (await client.get("/metrics")).status_code == 404  # scraped on each process, never outside

            sample = json.loads((SAMPLES / "text.json").read_text())
            message = sample["entry"][0]["changes"][0]["value"]["messages"][0]
            contact = sample["entry"][0]["changes"][0]["value"]["contacts"][0]
            for i in range(4):
                message["id"], message["from"], contact["wa_id"] = (
                    f"wamid.deploy{i}",
                    f"6281300000{i:03d}",
                    f"6281300000{i:03d}",
                )
                message["text"]["body"] = "berapa iuran minimal?"
                body = json.dumps(sample).encode()
                assert (await client.post("/webhook/whatsapp", content=body, headers=signed(body))).status_code == 200
            unsigned = json.dumps(sample).encode()
            assert (
                await client.post("/webhook/whatsapp", content=unsigned, headers={"Content-Type": "application/json"})
            ).status_code == 401
            secret = {"X-Telegram-Bot-Api-Secret-Token": "deploy-webhook-secret"}
            for i in range(4):
                update = _telegram_update(i, 700 + i, "halo")
                assert (await client.post("/webhook/telegram", json=update, headers=secret)).status_code == 200
            forged = await client.post(
                "/webhook/telegram",
                json=_telegram_update(9, 799, "halo"),
                headers={"X-Telegram-Bot-Api-Secret-Token": "no"},
            )
            assert forged.status_code in (401, 403)

        for i in range(4):
            replies = await eventually(lambda i=i: graph.messages_to(f"6281300000{i:03d}"), seconds=30)
            assert any("Rp16.800" in json.dumps(r) for r in replies)
            await eventually(lambda i=i: fake.messages_to(700 + i), seconds=30)
        assert fake.messages_to(799) == []
        served = {
            line.split()[-1] for line in (tmp_path / "access.log").read_text().splitlines() if "/webhook/" in line
        }
        assert served == {f"127.0.0.1:{port}" for port in ports}, served  # both processes answered webhooks
    finally:
        if nginx is not None:
            nginx.terminate()
            await asyncio.to_thread(nginx.wait, 10)
        for proc, _ in bots:
            await stop(proc)
        await fake.stop()
        graph.stop()


async def _up(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False
