"""report.html: self-contained, masked, and drawn in a real (headless) Chromium.

The browser test speaks the DevTools protocol over ``--remote-debugging-pipe`` (fd 3
in, fd 4 out, NUL-terminated JSON), so it needs no extra package; it is skipped with
a reason when no Chromium is installed (``apt-get install chromium``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from reports_factory import findings, write_run

from xueji.reports import build_report
from xueji.reports.html import render_html, write_html

RULES = (("ID_INVALID", "medium"), ("STUDENT_NO_MISMATCH", "low"), ("OVERSIZED_CLASS", "critical"))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """Three nights for the trend; tonight 180 findings (60 per rule: more than a page)."""
    runs = tmp_path / "runs"
    write_run(runs, "2026-11-18-1", findings(240, rules=RULES))
    write_run(runs, "2026-11-19-1", findings(210, rules=RULES, offset=15))
    frame = findings(180, rules=RULES, offset=30).with_columns(
        # A name that would end the data <script> early if it were not escaped.
        pl.when(pl.col("violation_id") == "v00000030").then(pl.lit("</script><b>王&五")).otherwise(pl.col("name")).alias("name")
    )
    return write_run(runs, "2026-11-20-1", frame)


def test_page_is_self_contained(run: Path) -> None:
    page = render_html(build_report(run))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "a resource would be fetched"
    assert "<link rel=\"stylesheet\"" not in page and "@import" not in page and "url(" not in page
    assert "@font-face" not in page
    assert re.findall(r"<script[^>]*\bsrc=", page) == []
    # The data scripts hold JSON; the only closing tags are those of the page's own scripts.
    assert page.count("</script>") == page.count("<script")


def test_page_masks_ids_and_escapes_data(run: Path) -> None:
    full = pl.read_parquet(run / "violations.parquet")
    page = render_html(build_report(run))
    for id_number in full.get_column("id_number").to_list():
        assert id_number not in page
    one = full.item(0, "id_number")
    assert one[:6] + "********" + one[-4:] in page
    assert "\\u003c/script\\u003e\\u003cb\\u003e王\\u0026五" in page
    assert "身份证件号已脱敏" in page


def test_page_summary_numbers(run: Path) -> None:
    page = render_html(build_report(run))
    # 180 counted findings; 30 + 15 of yesterday's 210 are gone.
    assert '<div class="kpi-value" id="kpi-findings">180</div>' in page
    assert re.search(r"已解决</div><div class=\"kpi-value kpi-good\">30</div>", page)
    assert "最近 3 次核查" in page


def test_unmasked_page_says_so(run: Path) -> None:
    page = render_html(build_report(run, masked=False))
    assert "未脱敏 · 仅限授权人员查阅" in page
    full = pl.read_parquet(run / "violations.parquet")
    assert full.item(1, "id_number") in page


def test_empty_run_renders(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs", "2026-11-20-1", findings(0))
    page = render_html(build_report(run))
    assert "本次核查在此范围内没有发现问题。" in page
    assert '<div class="kpi-value" id="kpi-findings">0</div>' in page


# ------------------------------------------------------------------ the browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class DevTools:
    """A minimal Chrome DevTools Protocol client over --remote-debugging-pipe."""

    def __init__(self, executable: str, profile: Path, log: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        args = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        actions = [
            (os.POSIX_SPAWN_DUP2, to_chrome_r, 3),
            (os.POSIX_SPAWN_DUP2, from_chrome_w, 4),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            (os.POSIX_SPAWN_OPEN, 2, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        ]
        self.pid = os.posix_spawn(executable, args, dict(os.environ), file_actions=actions)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 60) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self._to_chrome)
        os.close(self._from_chrome)


CHROMIUM = _chromium()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_page_in_headless_chromium(run: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    page = write_html(build_report(run), tmp_path / "report.html")
    browser = DevTools(CHROMIUM, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.call(f"{domain}.enable", session=session)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        browser.events.clear()
        browser.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
        browser.wait_for("Page.loadEventFired")

        drawn = browser.evaluate(
            session,
            """(() => {
              const box = (sel) => Array.from(document.querySelectorAll(sel)).filter(e => e.getBoundingClientRect().width > 0).length;
              return {
                ruleBars: box('#rule-chart rect.bar'),
                countyBars: box('#county-chart rect.bar'),
                trendLines: box('#trends path.line'),
                tabs: document.querySelectorAll('.tab').length,
                rows: document.querySelectorAll('.tab-panel.active table.findings tbody tr').length,
                headers: Array.from(document.querySelectorAll('.tab-panel.active table.findings th')).map(th => th.textContent),
                status: document.querySelector('.tab-panel.active .status').textContent,
                kpi: document.getElementById('kpi-findings').textContent,
              };
            })()""",
        )
        assert drawn["ruleBars"] == 6  # 3 rules x (new, persisting)
        assert drawn["countyBars"] >= 4
        assert drawn["trendLines"] == 3
        assert drawn["tabs"] == 4  # three rules and the resolved list
        assert drawn["rows"] == 50  # one page of 60
        assert drawn["headers"][:3] == ["问题编号", "变化", "严重程度"]
        assert drawn["status"] == "共 60 条"
        assert drawn["kpi"] == "180"

        # Sort by name, filter by a name, then open another rule's tab.
        sorted_names = browser.evaluate(
            session,
            """(() => {
              const th = Array.from(document.querySelectorAll('.tab-panel.active table.findings th')).find(t => t.dataset.key === 'violation_id');
              th.click(); th.click();
              return Array.from(document.querySelectorAll('.tab-panel.active table.findings tbody tr td:first-child')).map(td => td.textContent);
            })()""",
        )
        assert sorted_names == sorted(sorted_names, reverse=True) and len(sorted_names) == 50
        filtered = browser.evaluate(
            session,
            """(() => {
              const input = document.querySelector('.tab-panel.active input[type=search]');
              input.value = 'v00000201'; input.dispatchEvent(new Event('input'));
              return [document.querySelectorAll('.tab-panel.active table.findings tbody tr').length,
                      document.querySelector('.tab-panel.active .status').textContent];
            })()""",
        )
        assert filtered == [1, "筛选出 1 条 / 共 60 条"]
        other = browser.evaluate(
            session,
            """(() => {
              document.querySelector('.tab[data-tab="OVERSIZED_CLASS"]').click();
              return document.querySelectorAll('#rule-OVERSIZED_CLASS table.findings tbody tr').length;
            })()""",
        )
        assert other == 50

        browser.evaluate(session, "document.querySelector('.tab[data-tab=\"ID_INVALID\"]').click(); window.scrollTo(0, 0)")
        shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
        png = base64.b64decode(shot["data"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        (tmp_path / "report.png").write_bytes(png)
        if os.environ.get("XUEJI_SCREENSHOT_DIR"):
            # For people: keep the picture of what an inspector sees.
            shutil.copy(tmp_path / "report.png", Path(os.environ["XUEJI_SCREENSHOT_DIR"]) / "report.png")
    finally:
        browser.close()

    errors = [
        e
        for e in browser.events
        if (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert", "warning"))
        or e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning"))
    ]
    assert errors == []
    requests = [
        e["params"]["request"]["url"]
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requests and all(url.startswith("file://") for url in requests), requests
