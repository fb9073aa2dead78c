"""Stopping a page's service workers as a browser does when they are idle. Only Chromium lets a
test do it (DevTools' ServiceWorker.stopAllWorkers); the other engines have no such command."""
import time


def stop_service_workers(page, timeout=10):
    """Stop every service worker of the page's profile and wait until one was seen stopped (a
    request of the page may start it again right away)."""
    session = page.context.new_cdp_session(page)
    seen = []
    session.on("ServiceWorker.workerVersionUpdated",
               lambda event: seen.extend(v["runningStatus"] for v in event["versions"]))
    session.send("ServiceWorker.enable")
    session.send("ServiceWorker.stopAllWorkers")
    deadline = time.monotonic() + timeout
    while "stopped" not in seen:
        assert time.monotonic() < deadline, f"the workers did not stop: {seen}"
        page.wait_for_timeout(50)
    session.detach()
