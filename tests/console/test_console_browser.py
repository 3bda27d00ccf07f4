"""The console in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by
Selenium) against a live uvicorn server over the console world (real SST-5/TREC slices, real
MiniLM vectors): log in, open every page, check what a user sees, and save a screenshot of each
page under ``test-artifacts/console/``. Skipped, with the reason, only where no Chromium is found."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import uvicorn
from console_world import HTML_ID, HTML_TEXT

from fewshot.api import create_app

selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM = [os.environ.get("CHROMIUM_BINARY", ""), "/usr/bin/chromium", "/usr/bin/chromium-browser"]
DRIVER = [os.environ.get("CHROMEDRIVER", ""), "/usr/bin/chromedriver", shutil.which("chromedriver") or ""]


def _first(paths: list[str]) -> str | None:
    return next((p for p in paths if p and Path(p).is_file()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(world) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(workspace=world.ws), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads) -> Iterator[webdriver.Chrome]:
    binary, driver = _first(CHROMIUM), _first(DRIVER)
    if binary is None or driver is None:
        pytest.skip("no Chromium found (apt-get install chromium chromium-driver; or set CHROMIUM_BINARY/CHROMEDRIVER)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    try:
        chrome = webdriver.Chrome(service=Service(driver), options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium at {binary} does not start: {exc.msg}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield chrome
    chrome.quit()


def wait(browser, predicate, timeout: float = 30):
    return WebDriverWait(browser, timeout).until(lambda d: predicate(d))


def login(browser, base_url: str, key: str) -> None:
    browser.get(base_url + "/ui/login")
    browser.delete_all_cookies()
    browser.get(base_url + "/ui/login")
    browser.find_element(By.ID, "key").send_keys(key)
    browser.find_element(By.ID, "login").click()
    wait(browser, lambda d: d.current_url.endswith("/ui/pools"))


def shot(browser, name: str) -> None:
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, max(1000, min(int(height) + 40, 4000)))
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    browser.set_window_size(1400, 1000)


def test_login_and_pools_page(browser, base_url, world):
    browser.get(base_url + "/ui/pools/sst5/map")
    assert "/ui/login?next=" in browser.current_url
    shot(browser, "login")
    login(browser, base_url, world.admin)
    cards = {c.get_attribute("data-pool") for c in browser.find_elements(By.CSS_SELECTOR, "article.pool")}
    assert {"sst5", "trec"} <= cards
    counts = world.ws.pools.get("sst5").counts
    card = browser.find_element(By.CSS_SELECTOR, 'article[data-pool="sst5"]')
    assert card.find_element(By.CSS_SELECTOR, '[data-count="labeled"]').text == str(counts["labeled"])
    assert browser.get_cookie("fewshot_key")["httpOnly"] is True
    assert browser.execute_script("return document.cookie") == ""  # nothing readable by scripts
    shot(browser, "pools")


def test_budget_curve_has_points_and_hover(browser, base_url, world):
    login(browser, base_url, world.admin)
    browser.get(base_url + "/ui/pools/sst5/budget?method=facility")
    box = browser.find_element(By.ID, "budget")
    wait(browser, lambda d: box.get_attribute("data-points") or box.get_attribute("data-error"), 60)
    assert box.get_attribute("data-error") is None
    n = int(box.get_attribute("data-points"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#budget-table tbody tr")
    assert n >= 3 and len(rows) == n
    recommended = int(box.get_attribute("data-recommended"))
    assert f"Recommended budget: {recommended}" in browser.find_element(By.ID, "budget-reason").text
    over = browser.find_element(By.CSS_SELECTOR, "#budget-chart .u-over")
    ActionChains(browser).move_to_element(over).perform()
    tip = browser.find_element(By.ID, "budget-tip")
    wait(browser, lambda d: tip.is_displayed() and "marginal gain" in tip.text)
    assert tip.text.startswith("budget ")
    shot(browser, "budget")


def test_pool_map_draws_every_point_and_hover_shows_text_escaped(browser, base_url, world):
    login(browser, base_url, world.admin)
    expected = world.ws.pool_map.points("sst5", max_points=200)
    browser.get(base_url + "/ui/pools/sst5/map?max_points=200")
    box = browser.find_element(By.ID, "map")
    wait(browser, lambda d: box.get_attribute("data-points") or box.get_attribute("data-error"))
    assert box.get_attribute("data-error") is None
    assert int(box.get_attribute("data-points")) == expected.shown  # 200 sampled + every chosen item
    assert int(browser.find_element(By.ID, "map-canvas").get_attribute("data-drawn")) == expected.shown
    assert int(box.get_attribute("data-total")) == expected.total
    html_id = next(
        e.id for e in world.ws.list_examples("sst5", status="labeled", limit=200) if e.external_id == HTML_ID
    )
    x, y = browser.execute_script(f"return window.fewshotMap.point({html_id})")
    canvas = browser.find_element(By.ID, "map-canvas")
    size = canvas.size
    # all of the canvas in view: Selenium offsets from the centre of the element's visible part
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", canvas)
    ActionChains(browser).move_to_element_with_offset(
        canvas, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).perform()
    tip = browser.find_element(By.ID, "map-tip")
    wait(browser, lambda d: tip.is_displayed() and box.get_attribute("data-hover") is not None)
    hovered = int(box.get_attribute("data-hover"))
    if hovered == html_id:  # another point may sit on the same pixel; then check its text instead
        wait(browser, lambda d: HTML_TEXT in tip.text)
    else:
        wait(browser, lambda d: world.ws.pool_map.texts("sst5", [hovered])[hovered]["text"] in tip.text)
    assert browser.execute_script("return window.__pwned === undefined")
    assert not browser.find_elements(By.ID, "injected")
    Select(browser.find_element(By.ID, "color-by")).select_by_value("label")
    legend = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#map-legend li")]
    assert set(expected.labels) <= set(legend)
    shot(browser, "map")


def test_round_page_export_download_and_label_import(browser, base_url, world, downloads, tmp_path):
    login(browser, base_url, world.admin)
    browser.get(base_url + f"/ui/pools/sst5/rounds/{world.round2}")
    assert browser.find_element(By.ID, "round-method").text == "votek"
    rnd = world.ws.selection.get_round("sst5", world.round2)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#round-items tbody tr")) == len(rnd.items)
    unlabeled = [i for i in rnd.items if i.label is None]
    browser.find_element(By.ID, "export-jsonl").click()
    target = downloads / f"round-{world.round2}-jsonl.jsonl"
    wait(browser, lambda d: target.is_file() and target.stat().st_size > 0)
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["id"] for r in rows] == [i.external_id for i in unlabeled]
    # import labels for the first unlabeled item by upload; the report is shown
    item = unlabeled[0]
    upload = tmp_path / "labels.jsonl"
    upload.write_text(json.dumps({"id": item.external_id, "label": world.gold[item.external_id]}) + "\n")
    browser.find_element(By.ID, "import-file").send_keys(str(upload))
    browser.find_element(By.ID, "import").click()
    wait(browser, lambda d: d.find_elements(By.ID, "import-report"))
    assert browser.find_element(By.ID, "report-applied").text == "1"
    assert world.ws.selection.get_round("sst5", world.round2).items[item.position].label == world.gold[item.external_id]
    shot(browser, "round")
    browser.get(base_url + "/ui/pools/sst5/rounds")
    shot(browser, "rounds")


def test_item_with_html_renders_as_text(browser, base_url, world):
    login(browser, base_url, world.admin)
    browser.get(base_url + "/ui/pools/sst5/playground?" + urlencode({"query": HTML_TEXT, "k": 3}))
    demos = browser.find_elements(By.CSS_SELECTOR, "tr.demo")
    assert demos, "no demonstrations"
    first = demos[0].find_elements(By.TAG_NAME, "td")
    assert first[1].text == HTML_ID and first[4].text == HTML_TEXT  # the markup is visible as characters
    assert HTML_TEXT in browser.find_element(By.CSS_SELECTOR, "pre.prompt").text
    assert browser.execute_script("return window.__pwned === undefined")
    assert not browser.find_elements(By.ID, "injected")
    shot(browser, "escaped")


def test_prompt_provenance_search_and_detail(browser, base_url, world):
    login(browser, base_url, world.admin)
    browser.get(base_url + "/ui/prompts?pool=sst5")
    links = browser.find_elements(By.CSS_SELECTOR, "#prompt-logs a")
    assert len(links) == len(world.prompt_ids)
    shot(browser, "prompts")
    browser.get(base_url + f"/ui/prompts?id={world.prompt_ids[2][:8]}")
    links = browser.find_elements(By.CSS_SELECTOR, "#prompt-logs a")
    assert [a.text for a in links] == [world.prompt_ids[2]]
    links[0].click()
    wait(browser, lambda d: d.find_elements(By.ID, "prompt-demos"))
    assert browser.find_element(By.ID, "prompt-query").text == "<script>alert(1)</script> review"
    assert browser.find_element(By.ID, "prompt-retriever").text == "dense"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#prompt-demos tbody tr")) == 4
    assert "<script>alert(1)</script> review" in browser.find_element(By.ID, "rendered").text
    shot(browser, "prompt")


def test_playground_returns_demonstrations_side_by_side(browser, base_url, world):
    login(browser, base_url, world.admin)
    browser.get(base_url + "/ui/pools/sst5/playground")
    browser.find_element(By.ID, "query").send_keys("a witty, moving film")
    Select(browser.find_element(By.ID, "retriever2")).select_by_value("bm25")
    browser.find_element(By.ID, "run").click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "section.side")) == 2)
    sides = browser.find_elements(By.CSS_SELECTOR, "section.side")
    assert [s.get_attribute("data-retriever") for s in sides] == ["dense", "bm25"]
    for side in sides:
        assert len(side.find_elements(By.CSS_SELECTOR, "tr.demo")) == 4
        assert "a witty, moving film" in side.find_element(By.CSS_SELECTOR, "pre.prompt").text
    shot(browser, "playground")


def test_a_limited_key_sees_only_its_pool(browser, base_url, world):
    login(browser, base_url, world.trec_only)
    cards = [c.get_attribute("data-pool") for c in browser.find_elements(By.CSS_SELECTOR, "article.pool")]
    assert cards == ["trec"]
    for url in ["/ui/pools/sst5/map", f"/ui/prompts/{world.prompt_ids[0]}"]:
        browser.get(base_url + url)
        assert browser.find_element(By.TAG_NAME, "h1").text == "Error 403"
        assert "may not access pool 'sst5'" in browser.find_element(By.ID, "error-detail").text
    browser.get(base_url + "/ui/pools/sst5/map.json")
    assert "forbidden" in browser.page_source
