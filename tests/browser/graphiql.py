#!/usr/bin/env python3
"""The GraphQL IDE as a person sees it: opens GET /graphql in headless
Chromium (over the DevTools protocol), runs the page's query with its own
button, opens the schema docs, and fails unless the query answered, the docs
loaded (introspection through the depth limit), and every request went to
the service itself.

Usage: graphiql.py [BASE_URL] [SCREENSHOT.png]   (default http://127.0.0.1:8080)
Needs: chromium, python3 -m pip install websocket-client. CI runs it (.ci/run).
"""
import base64
import json
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080").rstrip("/")
SCREENSHOT = sys.argv[2] if len(sys.argv) > 2 else None
PORT = 9333


class Page:
    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=30)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return message.get("result", {})
            self.events.append(message)

    def wait(self, seconds):
        end = time.time() + seconds
        self.ws.settimeout(0.2)
        while time.time() < end:
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                pass
        self.ws.settimeout(30)

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def until(self, expression, seconds=15):
        end = time.time() + seconds
        while time.time() < end:
            if self.js(expression):
                return True
            self.wait(0.3)
        return False


def main():
    profile = tempfile.mkdtemp()
    chrome = subprocess.Popen(
        ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         f"--remote-debugging-port={PORT}", "--window-size=1400,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/json"))
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit("chromium did not start")
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        for domain in ("Network", "Page", "Runtime"):
            page.call(f"{domain}.enable")
        page.call("Page.navigate", url=f"{BASE}/graphql")
        failures = []
        if not page.until("!!document.querySelector('.graphiql-execute-button')"):
            failures.append("the IDE did not render")
        else:
            page.js("document.querySelector('.graphiql-execute-button').click()")
            answered = "Array.from(document.querySelectorAll('.result-window .CodeMirror-line'))" \
                       ".map(l => l.textContent).join('\\n')"
            page.until(f"({answered}).includes('\"products\"')")
            result = page.js(answered) or ""
            print("the query answered:\n" + "\n".join(result.splitlines()[:8]))
            if '"data"' not in result or '"products"' not in result:
                failures.append(f"the query did not answer: {result[:300]!r}")
            page.js("document.querySelector('[aria-label=\"Show Documentation Explorer\"]')?.click()")
            page.until("(document.querySelector('.graphiql-doc-explorer')?.innerText || '').includes('Cart')", 10)
            docs = page.js("document.querySelector('.graphiql-doc-explorer')?.innerText") or ""
            print("docs:", " | ".join(docs.splitlines()[:12]))
            if "Cart" not in docs or "Long" not in docs:
                failures.append("the docs explorer did not list the schema's types (introspection failed?)")
        if SCREENSHOT:
            shot = page.call("Page.captureScreenshot", format="png")
            with open(SCREENSHOT, "wb") as file:
                file.write(base64.b64decode(shot["data"]))
        urls = sorted({e["params"]["request"]["url"] for e in page.events
                       if e.get("method") == "Network.requestWillBeSent"})
        print("requests:", *[u[:100] for u in urls], sep="\n  ")
        elsewhere = [u for u in urls if not (u.startswith(BASE + "/") or u.startswith("data:"))]
        if elsewhere:
            failures.append(f"requests to other hosts: {elsewhere}")
        broken = [e["params"] for e in page.events if e.get("method") == "Network.loadingFailed"]
        if broken:
            failures.append(f"failed loads: {broken}")
        thrown = [e["params"]["exceptionDetails"] for e in page.events if e.get("method") == "Runtime.exceptionThrown"]
        if thrown:
            failures.append(f"script errors: {thrown}")
        if failures:
            sys.exit("GraphiQL check failed:\n- " + "\n- ".join(failures))
        print("GraphiQL: rendered, ran a query, loaded the docs, asked no other host")
    finally:
        chrome.kill()


if __name__ == "__main__":
    main()
