"""The review page in a real browser: Debian's chromium + chromium-driver, headless, through Selenium
(.ci/run installs them; elsewhere the test is skipped with the reason)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import time

import pytest

from installation.cli import main
from installation.curator import manifest as mf
from test_curator import make_catalog

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-default-apps", "--disable-sync", "--no-first-run",
    "--disable-extensions", "--metrics-recording-only", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
    "--window-size=1280,1000",
)


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run installs chromium, chromium-driver and .[test] (selenium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install '.[test]')")
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        _missing("Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    saved = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for a browser download
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        if saved is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = saved


@pytest.fixture()
def site(tmp_path, tiny_bundle):
    from installation.config import ModelConfig
    from installation.curator.review import ReviewSettings, start_server

    cat = make_catalog(tmp_path / "catalog", works=2,
                       yaml="artworks:\n  work0:\n    title: First Light\n    artist: R. Painter\n    year: 1911\n")
    out = tmp_path / "playlists"
    assert main(["precompute", "--catalog", str(cat), "--clips", "2", "--out", str(out), "--bundle", str(tiny_bundle),
                 "--seconds", "0.5", "--steps", "2"]) == 0
    (tmp_path / "config.yaml").write_text("secret: 1\n")
    server, url = start_server(ReviewSettings(out, cat, ModelConfig(), str(tiny_bundle)), port=0)
    try:
        yield url, out, server.server_port
    finally:
        server.shutdown()


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def raw_get(port: int, path: str) -> int:
    """A request exactly as written (a browser or requests would normalise the dots away)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_review_page_in_chromium(browser, site):
    from selenium.webdriver.common.by import By

    url, out, port = site
    manifest_before = (out / mf.MANIFEST).read_text()
    browser.get(url)
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "body[data-ready='1']"), what="the page to load")
    sections = browser.find_elements(By.CSS_SELECTOR, "section.artwork")
    assert [s.get_attribute("data-artwork") for s in sections] == ["work0", "work1"]  # every artwork
    assert "First Light" in sections[0].text and "R. Painter" in sections[0].text
    assert len(browser.find_elements(By.CSS_SELECTOR, "li.clip audio")) == 4
    # the images and waveforms really loaded
    for img in browser.find_elements(By.CSS_SELECTOR, "img.artwork-image, img.waveform"):
        wait_for(lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img),
                 what=f"image {img.get_attribute('src')}")

    # play a clip: the audio element reports it played
    audio = browser.find_element(By.CSS_SELECTOR, "section[data-artwork='work1'] li.clip audio")
    browser.execute_script("arguments[0].play()", audio)
    wait_for(lambda: browser.execute_script("return arguments[0].ended || arguments[0].currentTime > 0", audio),
             what="the clip to play")
    assert browser.execute_script("return arguments[0].error", audio) is None

    # reject one: the page shows it, the manifest holds it, a reload shows it again
    li = browser.find_element(By.CSS_SELECTOR, "section[data-artwork='work0'] li.clip")
    clip_id = li.get_attribute("data-clip")
    li.find_element(By.CSS_SELECTOR, "button.reject").click()
    wait_for(lambda: li.get_attribute("data-status") == "rejected", what="the clip to show rejected")
    wait_for(lambda: (out / mf.MANIFEST).read_text() != manifest_before, what="manifest.json to change")
    statuses = {e["id"]: e["status"] for e in json.loads((out / mf.MANIFEST).read_text())["clips"]}
    assert statuses[clip_id] == "rejected" and list(statuses.values()).count("rejected") == 1
    browser.refresh()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "body[data-ready='1']"), what="the reload")
    again = browser.find_element(By.CSS_SELECTOR, f"li.clip[data-clip='{clip_id}']")
    assert again.get_attribute("data-status") == "rejected" and "status-rejected" in again.get_attribute("class")

    # keep another
    other = browser.find_elements(By.CSS_SELECTOR, "section[data-artwork='work1'] li.clip")[1]
    other.find_element(By.CSS_SELECTOR, "button.keep").click()
    wait_for(lambda: other.get_attribute("data-status") == "kept", what="the clip to show kept")

    # regenerate: a new clip appears when it is ready
    browser.find_element(By.CSS_SELECTOR, "section[data-artwork='work1'] button.regenerate").click()
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "section[data-artwork='work1'] li.clip")) == 3,
             timeout=60, what="the regenerated clip")
    assert len(json.loads((out / mf.MANIFEST).read_text())["clips"]) == 5

    # paths from the browser are never trusted
    for path in ("/clip/../config.yaml", "/clip/%2e%2e/config.yaml", "/clip/%2e%2e%2fconfig.yaml",
                 "/clip/..%2f..%2fconfig.yaml", "/image/..%2fconfig.yaml", "/static/../../../config.yaml",
                 "/static/%2e%2e/%2e%2e/review.py", "/../config.yaml", "/waveform/%2e%2e%2fmanifest.json.svg"):
        assert raw_get(port, path) in (400, 404), path
    assert raw_get(port, "/clip/" + clip_id) == 200
