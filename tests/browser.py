"""Open a page in headless Chromium (Debian's package) over the DevTools protocol.

Collects console errors, uncaught exceptions and every network request the
page makes, evaluates a script in the page and takes screenshots. Bounded in
time everywhere; talks only to the browser on 127.0.0.1.
"""

import asyncio
import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                  "--remote-allow-origins=*", "--hide-scrollbars"]


def chromium_path() -> str | None:
    """Debian's chromium, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    """What happened while a page was open."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    evaluated: Any = None
    screenshots: dict[str, bytes] = field(default_factory=dict)


class _Session:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, visit: PageVisit) -> None:
        self.ws = ws
        self.visit = visit
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _note(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params") or {}
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.visit.console_errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            self.visit.console_errors.append(str(params["exceptionDetails"].get("text")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.visit.console_errors.append(str(params["entry"].get("text")))
        elif method == "Network.requestWillBeSent":
            self.visit.requests.append(params["request"]["url"])
        self.events.append(message)

    async def call(self, method: str, timeout: float = 20, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        wanted = self.next_id
        await self.ws.send_json({"id": wanted, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = await self.ws.receive_json(timeout=max(deadline - time.monotonic(), 0.1))
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result") or {}
            self._note(message)
        raise TimeoutError(f"{method}: no answer in {timeout} s")

    async def wait_for(self, method: str, timeout: float = 20) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = await self.ws.receive_json(timeout=max(deadline - time.monotonic(), 0.1))
            self._note(message)
            if message.get("method") == method:
                return
        raise TimeoutError(f"no {method} in {timeout} s")


async def _visit(port: int, url: str, script: str, shots: dict[str, str], width: int) -> PageVisit:
    visit = PageVisit()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
            pages = [t for t in await response.json() if t.get("type") == "page"]
        async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            session = _Session(ws, visit)
            for domain in ("Runtime", "Log", "Network", "Page"):
                await session.call(f"{domain}.enable")
            await session.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
                               deviceScaleFactor=1, mobile=False)
            await session.call("Page.navigate", url=url)
            await session.wait_for("Page.loadEventFired")
            result = await session.call("Runtime.evaluate", expression=script, returnByValue=True)
            if "exceptionDetails" in result:
                visit.console_errors.append(f"test script: {result['exceptionDetails'].get('text')}")
            visit.evaluated = (result.get("result") or {}).get("value")
            for name, selector in shots.items():
                box = await session.call("Runtime.evaluate", returnByValue=True, expression=(
                    f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                    ".getBoundingClientRect(); return {x: r.left + window.scrollX, "
                    "y: r.top + window.scrollY, width: r.width, height: r.height}; })()"))
                clip = {**box["result"]["value"], "scale": 1}
                shot = await session.call("Page.captureScreenshot", format="png", clip=clip,
                                          captureBeyondViewport=True)
                visit.screenshots[name] = base64.b64decode(shot["data"])
            # Anything the page fetched or logged late still counts.
            await asyncio.sleep(0.5)
            while True:
                try:
                    session._note(await ws.receive_json(timeout=0.2))
                except (TimeoutError, TypeError):
                    break
    return visit


def visit_page(path: Path, profile_dir: Path, *, script: str = "null",
               shots: dict[str, str] | None = None, width: int = 1280) -> PageVisit:
    """Open ``path`` in headless Chromium; evaluate ``script``; screenshot each selector in ``shots``."""
    executable = chromium_path()
    assert executable, "chromium is not installed (Debian package chromium)"
    profile_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}",
                                "about:blank"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "HOME": str(profile_dir)})
    try:
        port_file = profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "chromium did not open its DevTools port in 30 s"
            assert process.poll() is None, f"chromium exited with {process.returncode}"
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        return asyncio.run(_visit(port, path.resolve().as_uri(), script, shots or {}, width))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
