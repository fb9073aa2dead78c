"""The three browser engines the web tests run in, behind the part of Playwright's API they use:
engine.new_context() is a fresh profile (no worker, no cache), context.new_page() a tab in it,
page.goto(url), page.evaluate(function_source, arg) (a returned promise is awaited),
page.wait_for_timeout(ms), page.context, context.close().

- chromium: Playwright itself (tests/web/conftest.py's `browser`);
- firefox: Debian's firefox-esr driven through Marionette (marionette_driver; no geckodriver), one
  process per context;
- webkit: WebKitGTK's WebKitWebDriver under an Xvfb of its own, through Selenium's
  webdriver.Remote; each WebDriver session is a MiniBrowser with an ephemeral profile.

The drivers run page.evaluate outside the page's Content-Security-Policy where the engine allows
it (Marionette does; WebKit compiles the function in the page, so no eval() inside it).
"""
import contextlib
import glob
import os
import pathlib
import socket
import subprocess
import tempfile
import time

from tests.servers import free_port

ENGINES = ("chromium", "firefox", "webkit")
SCRIPT_TIMEOUT_SECONDS = 120  # one evaluate (a play, a seek) on a loaded 2-core machine
FIREFOX = "firefox-esr"
# Firefox's own preferences for a test profile: service workers on http://127.0.0.1 (loopback is
# a secure context, but its devtools checks are skipped too), and nothing started behind the test.
FIREFOX_PREFS = {
    "dom.serviceWorkers.enabled": True,
    "dom.serviceWorkers.testing.enabled": True,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "app.update.disabledForTesting": True,
    "media.autoplay.default": 0,
}


@contextlib.contextmanager
def launch(name):
    """The engine `name` (firefox or webkit; chromium is Playwright's browser), closed on exit."""
    engine = {"firefox": Firefox, "webkit": WebKit}[name]()
    try:
        yield engine
    finally:
        engine.close()


class _Page:
    """A tab; subclasses say how to reach it (`_select`) and how to run a script in it."""

    def __init__(self, context, handle):
        self.context, self._handle = context, handle

    def evaluate(self, function, arg=None):
        self._select()
        return self._execute(f"return ({function})(arguments[0]);", arg)

    def wait_for_timeout(self, ms):
        time.sleep(ms / 1000)


# ------------------------------------------------------------------ Firefox (Marionette)
class Firefox:
    def __init__(self):
        self.version = subprocess.run([FIREFOX, "--version"], capture_output=True, text=True,
                                      check=True).stdout.split()[-1]
        self.contexts = []

    def new_context(self):
        context = _FirefoxContext(self)
        self.contexts.append(context)
        return context

    def close(self):
        for context in list(self.contexts):
            context.close()


class _FirefoxContext:
    """One firefox-esr process with a fresh profile (a Firefox profile is one process)."""

    def __init__(self, engine):
        from marionette_driver.marionette import Marionette  # only where Firefox runs

        self.engine, self.pages = engine, []
        self._profile = tempfile.TemporaryDirectory(prefix="firefox-profile-")
        port = free_port()
        prefs = {**FIREFOX_PREFS, "marionette.port": port}
        pathlib.Path(self._profile.name, "user.js").write_text(
            "".join(f'user_pref("{name}", {_js(value)});\n' for name, value in prefs.items()))
        self._log = open(pathlib.Path(self._profile.name, "firefox.log"), "wb")
        self._process = subprocess.Popen(
            [FIREFOX, "--marionette", "--headless", "--no-remote", "-profile", self._profile.name],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self.marionette = Marionette(host="127.0.0.1", port=port, startup_timeout=60)
            self.marionette.start_session()
            self.marionette.timeout.script = SCRIPT_TIMEOUT_SECONDS
            self._first_tab = self.marionette.current_window_handle
        except Exception:
            self.close()
            raise

    def new_page(self):
        if self.pages:  # the process's first window is the first page
            handle = self.marionette.open(type="tab")["handle"]
        else:
            handle = self._first_tab
        page = _FirefoxPage(self, handle)
        self.pages.append(page)
        return page

    def close(self):
        if self in self.engine.contexts:
            self.engine.contexts.remove(self)
        with contextlib.suppress(Exception):
            self.marionette.delete_session()
        _stop(self._process)
        self._log.close()
        self._profile.cleanup()


class _FirefoxPage(_Page):
    def _select(self):
        marionette = self.context.marionette
        if marionette.current_window_handle != self._handle:
            marionette.switch_to_window(self._handle)

    def _execute(self, script, arg):
        # sandbox=None: in the page's own globals (window.harness), not a sandbox's view of them
        return self.context.marionette.execute_script(script, script_args=[arg], sandbox=None, new_sandbox=False)

    def goto(self, url):
        self._select()
        self.context.marionette.navigate(url)


# ------------------------------------------------------------------ WebKitGTK (WebKitWebDriver)
class WebKit:
    def __init__(self):
        # -displayfd: Xvfb takes a free display number itself and writes it to the pipe when ready
        read, write = os.pipe()
        self._xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                      pass_fds=[write], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as ready:
            number = ready.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb did not start (exit code {self._xvfb.wait()})")
        self._display = f":{number}"
        self._port = free_port()
        self._driver = subprocess.Popen(
            ["WebKitWebDriver", f"--port={self._port}"], env={**os.environ, "DISPLAY": self._display},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.contexts = []
        try:
            _wait_for_port(self._port)
            probe = self.new_context()
            self.version = probe.driver.capabilities["browserVersion"]
            probe.close()
        except Exception:
            self.close()
            raise

    def new_context(self):
        from selenium import webdriver  # only where WebKit runs
        from selenium.webdriver.remote.client_config import ClientConfig
        from selenium.webdriver.remote.remote_connection import RemoteConnection

        options = webdriver.WebKitGTKOptions()
        options.binary_location = _minibrowser()
        options.add_argument("--automation")
        driver = RemoteConnection(client_config=ClientConfig(remote_server_addr=f"http://127.0.0.1:{self._port}"))
        context = _WebKitContext(self, webdriver.Remote(driver, options=options))
        self.contexts.append(context)
        return context

    def close(self):
        for context in list(self.contexts):
            context.close()
        _stop(self._driver)
        _stop(self._xvfb)


class _WebKitContext:
    def __init__(self, engine, driver):
        self.engine, self.driver, self.pages = engine, driver, []
        driver.set_script_timeout(SCRIPT_TIMEOUT_SECONDS)

    def new_page(self):
        if self.pages:
            self.driver.switch_to.new_window("tab")
        page = _WebKitPage(self, self.driver.current_window_handle)
        self.pages.append(page)
        return page

    def close(self):
        if self in self.engine.contexts:
            self.engine.contexts.remove(self)
        with contextlib.suppress(Exception):
            self.driver.quit()


class _WebKitPage(_Page):
    def _select(self):
        if self.context.driver.current_window_handle != self._handle:
            self.context.driver.switch_to.window(self._handle)

    def _execute(self, script, arg):
        return self.context.driver.execute_script(script, arg)

    def goto(self, url):
        self._select()
        self.context.driver.get(url)


# ------------------------------------------------------------------ helpers
def _js(value):
    return "true" if value is True else "false" if value is False else repr(value)


def _minibrowser():
    found = glob.glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser")
    if not found:
        raise RuntimeError("WebKitGTK's MiniBrowser is missing: scripts/ensure-system-deps installs webkit2gtk-driver")
    return found[0]


def _wait_for_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _stop(process, timeout=10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

