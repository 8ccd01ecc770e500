"""Headless Chromium driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``).

No websocket client is needed: Chromium reads commands from fd 3 and writes answers and events to
fd 4, each message one JSON document ended by a NUL byte. Every console call, uncaught exception and
log entry (a failed load, a Content-Security-Policy violation) is kept in ``problems``, so a test can
assert that a page really ran clean, not just that its DOM looked right.

The Debian package ``chromium`` provides ``/usr/bin/chromium``; ``make install`` installs it
(``scripts/install-chromium.sh``). Without it the fixture fails with that advice: never a skip.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import orjson

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-pipe",
)


def chromium_binary() -> str:
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if found is None:
        raise AssertionError(
            f"headless Chromium is required ({CHROMIUM} not found): run `make install`, which calls "
            "scripts/install-chromium.sh (Debian's `chromium` package through apt-get)"
        )
    return found


def _high(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more, so mapping it onto 3 and 4 in the child cannot collide."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Chromium:
    """One browser, one page (``open``); ``call`` sends a command to the page's session."""

    def __init__(self, user_data_dir: Path, *, width: int = 1360, height: int = 1100) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        to_browser_r, from_browser_w = _high(to_browser_r), _high(from_browser_w)
        args = [
            chromium_binary(),
            *FLAGS,
            f"--user-data-dir={user_data_dir}",
            f"--window-size={width},{height}",
        ]
        # bash (dash refuses fds above 9) maps the two pipe ends onto fds 3 and 4, where Chromium expects them.
        self.proc = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}',
                "bash",
                *args,
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session: str | None = None

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._cond:
                for raw in messages:
                    message = orjson.loads(raw)
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                self._cond.notify_all()

    def call(self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False,
             timeout_s: float = 30.0) -> dict[str, Any]:  # fmt: skip
        with self._cond:
            self._next_id += 1
            call_id = self._next_id
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if not browser:
            message["sessionId"] = self.session
        os.write(self._to_browser, orjson.dumps(message) + b"\0")
        with self._cond:
            if not self._cond.wait_for(lambda: call_id in self._answers, timeout=timeout_s):
                raise AssertionError(f"Chromium did not answer {method} within {timeout_s}s")
            answer = self._answers.pop(call_id)
        if "error" in answer:
            raise AssertionError(f"{method} failed: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def open(self, url: str, timeout_s: float = 30.0) -> None:
        """A new page with console, exceptions and log reported, navigated to ``url`` and loaded."""
        target = self.call("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True
        )
        self.session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")
        self.call("Page.navigate", {"url": url})
        self.wait_for(lambda: any(e.get("method") == "Page.loadEventFired" for e in self.events), timeout_s)

    def wait_for(self, predicate: Any, timeout_s: float) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=timeout_s):
                raise AssertionError(f"Chromium: condition not met within {timeout_s}s")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"evaluating {expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def poll(self, expression: str, expected: Any, timeout_s: float) -> Any:
        """Evaluate until the value equals ``expected`` (a positive check); the last value otherwise."""
        deadline = time.monotonic() + timeout_s
        value = self.evaluate(expression)
        while value != expected and time.monotonic() < deadline:
            time.sleep(0.2)
            value = self.evaluate(expression)
        return value

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    @property
    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and error log entries, as one line each."""
        found = []
        with self._cond:
            events = list(self.events)
        for event in events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                texts = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
                found.append(f"console.{params['type']}: {' '.join(texts)}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(
                    f"exception: {details.get('exception', {}).get('description') or details.get('text')}"
                )
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                entry = params["entry"]
                found.append(
                    f"log {entry['level']} ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}"
                )
        return found

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.call("Browser.close", browser=True, timeout_s=5.0)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
