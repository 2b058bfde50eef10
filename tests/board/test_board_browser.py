"""The review board in a real headless Chromium (Debian's chromium + chromium-driver).

Open the board of a project with 3 takes of a shot, see the thumbnails, pick take 3: the store,
`reelforge show --json` and the next export use take 3. Adding takes shows the price first and
calls no provider until confirmed. Screenshots land in docs/ for the README.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import uvicorn
from typer.testing import CliRunner

from agent.board.app import create_app
from agent.cli.main import app as cli
from tests.board.conftest import BoardProject
from tools.providers.animatic.adapter import AnimaticProvider

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
DOCS = Path(__file__).resolve().parents[2] / "docs"
TOKEN = "browser-test-token"

selenium = pytest.importorskip(
    "selenium", reason="selenium is not installed (pip install selenium)"
)
pytestmark = [
    pytest.mark.ffmpeg,
    pytest.mark.skipif(
        CHROMIUM is None or not Path(DRIVER).is_file(),
        reason="Debian's chromium and chromium-driver are not installed (apt-get install "
        "chromium chromium-driver; .ci/run does it)",
    ),
]

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def server(board_project: BoardProject) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(board_project.services, board_project.project.id, TOKEN)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    profile = tempfile.mkdtemp(prefix="reelforge-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        f"--user-data-dir={profile}",
        "--window-size=1400,1600",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def submits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every provider submit the board causes (the animatic stands in for a paid model)."""
    calls: list[str] = []
    real = AnimaticProvider.submit

    async def counted(self: AnimaticProvider, request: Any) -> str:
        calls.append(request.prompt)
        return await real(self, request)

    monkeypatch.setattr(AnimaticProvider, "submit", counted)
    return calls


def first_frame(path: Path) -> np.ndarray[Any, Any]:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return np.asarray(frame.to_image().convert("RGB").resize((64, 36)), np.float64)


def wait_for(driver: WebDriver, css: str) -> Any:
    return WebDriverWait(driver, 120).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def submit(driver: WebDriver, button: WebElement) -> None:
    """Click a form button and wait for the page it posts to (every board action is a form
    post answered by a redirect). Without this wait, the next lookup can read the page being
    left: its old #message, or a stale element mid-navigation."""
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 120).until(ec.staleness_of(old))
    WebDriverWait(driver, 120).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def test_pick_take_3_in_the_browser(
    board_project: BoardProject,
    server: str,
    browser: WebDriver,
    submits: list[str],
    use_data_dir: None,
) -> None:
    store, pid = board_project.services.store, board_project.project.id
    browser.get(f"{server}/?token={TOKEN}")
    assert "Garage Night" in browser.title
    takes = browser.find_elements(By.CSS_SELECTOR, "#shot-1\\.1 .take")
    assert len(takes) == 3
    # every thumbnail is a real picture served by the board (its poster image decodes)
    for take in takes:
        poster = take.find_element(By.TAG_NAME, "video").get_attribute("poster")
        assert poster and "/media?path=" in poster
        size = browser.execute_async_script(
            "const done = arguments[1]; const i = new Image();"
            "i.onload = () => done([i.naturalWidth, i.naturalHeight]); i.onerror = () => done(null);"
            "i.src = arguments[0];",
            poster,
        )
        assert size is not None and size[0] == 320
    # a click plays the take
    video = takes[0].find_element(By.TAG_NAME, "video")
    video.click()
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script(
            "return arguments[0].currentTime > 0 || arguments[0].error", video
        )
    )
    assert browser.execute_script("return arguments[0].error", video) is None
    take3 = browser.find_element(By.ID, "take-1.1-3")
    take3_id = take3.get_attribute("data-take-id")
    submit(browser, take3.find_element(By.CSS_SELECTOR, "button.pick"))
    wait_for(browser, "#message")
    assert "now uses take 3" in browser.find_element(By.ID, "message").text
    assert "picked" in (browser.find_element(By.ID, "take-1.1-3").get_attribute("class") or "")
    assert store.working(pid).picks["1.1"] == take3_id

    submit(browser, browser.find_element(By.ID, "export"))
    message = wait_for(browser, "#message").text
    assert "Exported revision 2" in message, message
    shown = CliRunner().invoke(cli, ["show", pid, "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["revisions"] == 2 and data["shots"][0]["take"] == take3_id
    browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    DOCS.mkdir(exist_ok=True)
    browser.set_window_size(1400, 2400)
    browser.save_screenshot(str(DOCS / "review-board.png"))
    # the new export is cut from take 3: its first frame is nearer take 3's than the others'
    export = next(Path(p) for p in data["exports"] if p.endswith("16x9.mp4"))
    ranked = [store.take(browser_id) for browser_id in _take_ids(browser)]
    out = first_frame(export)
    dist = {t.id: float(np.abs(first_frame(t.file) - out).mean()) for t in ranked if t.file}
    assert min(dist, key=dist.__getitem__) == take3_id, dist

    # adding takes: a price and a confirm first, no provider call before it
    numbered = _take_ids(browser)
    before = len(store.takes(pid))
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#shot-1\\.1 button.quote-more"))
    quote = wait_for(browser, "#quote")
    assert "2 more take(s) of shot 1.1" in quote.text
    assert browser.find_element(By.ID, "quote-price").text == "$0.00"
    assert submits == [] and len(store.takes(pid)) == before
    submit(browser, browser.find_element(By.ID, "cancel"))
    assert "not confirmed" in wait_for(browser, "#message").text
    assert submits == [] and len(store.takes(pid)) == before
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#shot-1\\.1 button.quote-more"))
    submit(browser, wait_for(browser, "#confirm"))
    assert "Rendered takes" in wait_for(browser, "#message").text
    assert len(submits) == 2 and len(store.takes(pid)) == before + 2
    assert len(browser.find_elements(By.CSS_SELECTOR, "#shot-1\\.1 .take")) == 5
    # take N stays take N: new takes of equal score come after the ones already shown
    assert _take_ids(browser)[:3] == numbered, (_take_ids(browser), numbered)
    assert "picked" in (browser.find_element(By.ID, "take-1.1-3").get_attribute("class") or "")
    src = board_project.data_dir / "media" / "sheets" / pid / "shot-1.1.png"
    shutil.copyfile(src, DOCS / "contact-sheet.png")


def _take_ids(browser: WebDriver) -> list[str]:
    return [
        e.get_attribute("data-take-id") or ""
        for e in browser.find_elements(By.CSS_SELECTOR, "#shot-1\\.1 .take")
    ]
