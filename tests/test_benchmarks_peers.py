"""The pieces of benchmarks/peers.py that need no portal: the synthetic catalogue and the counting proxy."""

from __future__ import annotations

import csv
import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from publish.cli import main as cli
from tests.integration.fault_proxy import FaultProxy, no_faults

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import peers


def test_generator_writes_datasets_times_files_csvs_of_rows_rows(tmp_path: Path) -> None:
    synthetic = peers.generate(tmp_path, datasets=3, files=2, rows=25)

    assert len(synthetic.tables) == 3
    assert [t.name for t in synthetic.tables[0]] == ["tabelle-1", "tabelle-2"]
    assert len(synthetic.files) == 6
    for path in synthetic.files:
        rows = list(csv.reader(path.open(encoding="utf-8")))
        assert rows[0] == peers.FIELDS
        assert len(rows) == 26
        assert [int(r[0]) for r in rows[1:]] == list(range(1, 26))


def test_generator_is_deterministic_and_files_differ(tmp_path: Path) -> None:
    first = peers.generate(tmp_path / "a", datasets=2, files=2, rows=40)
    second = peers.generate(tmp_path / "b", datasets=2, files=2, rows=40)

    assert [p.read_bytes() for p in first.files] == [p.read_bytes() for p in second.files]
    assert len({p.read_bytes() for p in first.files}) == 4  # no two tables alike


def test_each_tool_gets_the_same_files_in_its_own_shape(tmp_path: Path) -> None:
    synthetic = peers.generate(tmp_path, datasets=2, files=3, rows=5)

    load, batch = peers.ckanapi_inputs(synthetic, "org-a", tmp_path / "ckanapi")
    datasets = [json.loads(line) for line in load.read_text().splitlines()]
    uploads = [json.loads(line) for line in batch.read_text().splitlines()]
    assert [d["name"] for d in datasets] == ["org-a-001", "org-a-002"]
    assert {d["owner_org"] for d in datasets} == {"org-a"}
    assert len(uploads) == 6
    assert {u["action"] for u in uploads} == {"resource_create"}
    assert sorted(u["files"]["upload"] for u in uploads) == sorted(str(p) for p in synthetic.files)

    packages = json.loads(peers.frictionless_packages(synthetic, "org-b", tmp_path / "fl").read_text())
    assert [p["descriptor"]["name"] for p in packages] == ["org-b-001", "org-b-002"]
    for package in packages:
        for res in package["descriptor"]["resources"]:
            assert (Path(package["basepath"]) / res["path"]).is_file()

    catalogue = peers.publish_catalogue(synthetic, "org-c", tmp_path / "publish")
    meta = yaml.safe_load((catalogue / "datasets/catalogue.yaml").read_text())
    assert meta["organization"]["name"] == "org-c"
    copied = sorted((catalogue / "datasets").glob("d*/tabelle-*.csv"))
    assert [p.read_bytes() for p in copied] == [p.read_bytes() for p in sorted(synthetic.files)]


def test_the_synthetic_catalogue_is_valid_for_publish(tmp_path: Path) -> None:
    synthetic = peers.generate(tmp_path, datasets=2, files=2, rows=30)
    catalogue = peers.publish_catalogue(synthetic, "org-v", tmp_path / "publish")

    result = CliRunner().invoke(cli, ["validate", "--json", "--catalogue", str(catalogue)])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["valid"] is True


@pytest.fixture
def upstream() -> Iterator[str]:
    """A loopback HTTP server that answers every POST with its body reversed, and GET with 1000 bytes."""

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            self._send(self.rfile.read(int(self.headers["Content-Length"]))[::-1])

        def do_GET(self) -> None:
            self._send(b"x" * 1000)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_counting_proxy_counts_requests_and_bytes_both_ways(upstream: str) -> None:
    proxy = FaultProxy(upstream, no_faults)
    url = proxy.start()
    port = int(url.rsplit(":", 1)[1])
    try:
        body = b"a" * 50_000 + b"b"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/api/action/x", body=body)
        answer = conn.getresponse().read()
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/file")
        download = conn.getresponse().read()
        conn.close()
    finally:
        proxy.stop()

    assert answer == body[::-1]  # forwarded unchanged
    assert len(download) == 1000
    assert proxy.count == 2
    assert proxy.faults() == []
    assert 50_001 < proxy.bytes_up < 50_001 + 1000  # the body plus two requests' lines and headers
    assert 51_001 < proxy.bytes_down < 51_001 + 1000  # both bodies plus two answers' headers


def test_failures_of_each_tool_are_reported_not_lost() -> None:
    def done(stdout: str = "", code: int = 0, stderr: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], code, stdout, stderr)

    ok_record = json.dumps(["t", 1, "resource_create", None, {"id": "x"}])
    bad_record = json.dumps(["t", 2, "resource_create", "ValidationError", {"upload": ["too big"]}])
    # ckanapi batch exits 0 even when a record failed: its log tells
    assert peers.failure("ckanapi", done(), ok_record) is None
    assert peers.failure("ckanapi", done(), f"{ok_record}\n{bad_record}") == (
        "1 records failed, e.g. ValidationError: {'upload': ['too big']}"
    )
    lines = [{"dataset": "a", "error": None}, {"dataset": "b", "error": '{"help": "http://h/x", "error": "taken"}'}]
    text = "\n".join(json.dumps(line) for line in lines)
    assert peers.failure("frictionless", done(text, 3)) == '1 of 2 datasets failed, e.g. {"error": "taken"}'
    report = json.dumps({"ok": False, "error": "portal unreachable"}, indent=2)
    assert peers.failure("publish", done(report, 2)) == "exit 2: portal unreachable"
    assert peers.failure("publish", done(json.dumps({"ok": True}), 0)) is None
