"""The web page in headless Chromium (Debian's ``chromium``, driven by Playwright): the main flow, live updates."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from orbitstore.daemon import Daemon, DaemonClient
from tests.api.test_models import cancer_csv
from tests.conftest import need

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium, closed after the test."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        need("playwright not installed: run make test")
    chromium = shutil.which(CHROMIUM) or shutil.which("chromium")
    if chromium is None:
        need("chromium not installed: run make test")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def test_page_flow_with_live_updates(daemon: Daemon, browser: Any, tmp_path: Path) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 860})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(daemon.url + "/")

    # the page asks for the token; a wrong one is refused
    await page.fill("#token", "not-the-token-at-all")
    await page.click("#login-form button")
    await page.wait_for_selector("#login-error:not([hidden])")
    assert await page.text_content("#login-error") == "wrong token"
    await page.fill("#token", daemon.token)
    await page.click("#login-form button")
    await page.wait_for_selector("#app:not([hidden])")
    assert "embedded" in (await page.text_content("#node") or "")

    # create a database
    await page.fill("#create-name", "notes")
    await page.select_option("#create-type", "events")
    await page.click("#create-form button")
    await page.wait_for_selector("#db-title:text('notes')")
    await page.wait_for_selector("#db-live.on")
    address = await page.text_content("#db-address")
    assert address and address.startswith("/orbitdb/zdpu")
    assert not await page.is_visible("#write-key")  # events have no keys
    assert await page.locator("#databases li").count() == 1

    # add an entry from the page: listed
    await page.fill("#write-value", '{"text": "from the page"}')
    await page.click("#write-button")
    await page.wait_for_selector("#entries tbody tr td.value:text('from the page')")

    # a write from elsewhere arrives live, without reloading
    async with DaemonClient(daemon.url, token=daemon.token) as client:
        entry = await client.add(address, {"text": "live from elsewhere"})
    row = page.locator(f"#entries tbody tr[data-hash='{entry}']")
    await row.wait_for(timeout=5000)
    assert "live from elsewhere" in (await row.text_content() or "")
    values = await page.locator("#entries tbody td.value").all_text_contents()
    assert values == ['{"text":"live from elsewhere"}', '{"text":"from the page"}']

    # every panel's part is wired in on this node: none is disabled
    for panel in ("#panel-upload", "#panel-verify", "#panel-train", "#panel-card", "#panel-predict"):
        assert await page.locator(panel).get_attribute("class") == "card panel"
        assert not await page.locator(f"{panel} .unavailable").is_visible()

    shot = tmp_path / "web-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert errors == []


async def test_token_in_the_fragment_is_taken_once(daemon: Daemon, browser: Any) -> None:
    assert daemon.api is not None
    daemon.api.models_service.available = False  # a node without the 'ml' extra: its panels say so
    page = await browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto(f"{daemon.url}/#token={daemon.token}")
    await page.wait_for_selector("#app:not([hidden])")
    assert await page.evaluate("location.hash") == ""
    assert await page.evaluate("location.href") == daemon.url + "/"
    assert all(daemon.token not in url for url in requests)  # a fragment never reaches the server
    for panel in ("#panel-train", "#panel-card", "#panel-predict"):
        assert await page.locator(panel).get_attribute("class") == "card panel disabled"
        assert await page.locator(f"{panel} .unavailable").text_content() == "not available yet: models"
        assert await page.locator(f"{panel} button").first.is_disabled()
    await page.reload()
    await page.wait_for_selector("#app:not([hidden])")  # kept for the tab's session only


async def test_dataset_csv_upload_and_snapshot(daemon: Daemon, browser: Any, tmp_path: Path) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text("pid,age,bmi,sick\np1,54,27.1,true\np2,31,22.5,false\np3,67,30.2,true\n")
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{daemon.url}/#token={daemon.token}")
    await page.wait_for_selector("#app:not([hidden])")
    await page.fill("#create-name", "patients")
    await page.select_option("#create-type", "dataset")
    await page.click("#create-form button")
    await page.wait_for_selector("#db-title:text('patients')")
    assert (await page.text_content("#db-access") or "").startswith("dataset (grant/revoke")
    await page.set_input_files("#upload-file", str(csv))
    await page.fill("#upload-id", "pid")
    await page.fill("#upload-target", "sick")
    await page.click("#upload-form button")
    await page.wait_for_selector("#upload-result:text('3 rows imported')")
    await page.wait_for_selector("#entries tbody tr[data-key='\"p3\"']")
    assert await page.locator("#entries tbody tr").count() == 3
    # a row typed into the page, validated against the inferred schema
    await page.fill("#write-key", "p4")
    await page.fill("#write-value", '{"pid": "p4", "age": 45, "bmi": 25.0, "sick": false}')
    await page.click("#write-button")
    p4 = page.locator("#entries tbody tr[data-key='\"p4\"'] td.value")
    await p4.wait_for()
    assert await p4.text_content() == '{"pid":"p4","age":45,"bmi":25,"sick":false}'  # the row, not its link
    await page.fill("#write-key", "p5")
    await page.fill("#write-value", '{"age": "old"}')
    await page.click("#write-button")
    await page.wait_for_selector("#status.error")
    assert "SchemaError" in (await page.text_content("#status") or "")
    await page.click("#snapshot-form button")
    await page.wait_for_selector("#snapshot-result:has-text('(4 records)')")
    # the snapshot's CID goes to the anchor panel: anchor it on the local ledger, then verify
    snapshot_cid = (await page.text_content("#snapshot-result") or "").split()[0]
    assert await page.input_value("#verify-subject") == snapshot_cid
    await page.click("#anchor-button")
    await page.wait_for_selector("#verify-result:has-text('anchored: receipt')")
    assert "NOT A PUBLIC CHAIN" in (await page.text_content("#anchor-backend") or "")
    await page.click("#verify-form button[type=submit]")
    await page.wait_for_selector("#verify-result:has-text('verified:')")
    assert snapshot_cid in (await page.text_content("#verify-result") or "")
    shot = tmp_path / "dataset.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert errors == []


async def test_train_card_provenance_predict(daemon: Daemon, browser: Any, tmp_path: Path) -> None:
    """Upload a CSV, train, see the card and every provenance check pass, enter a row, get a prediction."""
    data, _ = cancer_csv()
    csv = tmp_path / "breast-cancer.csv"
    csv.write_bytes(data)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{daemon.url}/#token={daemon.token}")
    await page.wait_for_selector("#app:not([hidden])")
    await page.wait_for_selector("#train-estimator option[value='random_forest']", state="attached")
    assert await page.input_value("#train-estimator") == "random_forest"  # filled from /api/v0/estimators
    await page.fill("#create-name", "cancer")
    await page.select_option("#create-type", "dataset")
    await page.click("#create-form button")
    await page.wait_for_selector("#db-title:text('cancer')")
    assert await page.is_visible("#train-hint")  # no schema yet
    await page.set_input_files("#upload-file", str(csv))
    await page.fill("#upload-id", "pid")
    await page.fill("#upload-target", "diagnosis")
    await page.click("#upload-form button")
    await page.wait_for_selector("#upload-result:text('143 rows imported')")

    # the target comes from the schema; the algorithms from the API, only classifiers for a text target
    await page.wait_for_selector("#train-target option[value='diagnosis']", state="attached")
    assert await page.input_value("#train-target") == "diagnosis"
    algorithms = await page.locator("#train-estimator option").evaluate_all("os => os.map(o => o.value)")
    assert "random_forest" in algorithms and "RandomForestClassifier" in algorithms
    assert "Ridge" not in algorithms and "VotingClassifier" not in algorithms
    await page.select_option("#train-estimator", "random_forest")
    await page.fill("#train-params", '{"n_estimators": 10}')
    await page.click("#train-button")
    await page.wait_for_selector("#train-result:has-text('trained RandomForestClassifier v1')")

    # the card and the provenance chain: every link passes, the anchor on the local ledger too
    await page.wait_for_selector("#provenance-result.ok", timeout=30_000)
    assert (await page.text_content("#provenance-result") or "").startswith("provenance verified: 10 of 10")
    checks = page.locator("#provenance tbody tr")
    assert await checks.count() == 10
    assert set(await checks.evaluate_all("rows => rows.map(r => r.className)")) == {"pass"}
    assert "NOT A PUBLIC CHAIN" in (await page.text_content("#provenance tr[data-check='anchor-chain']") or "")
    card = await page.text_content("#card-view") or ""
    assert card.startswith("# Model card: RandomForestClassifier") and "| n_estimators | `10` |" in card
    assert await page.locator("#models li").count() == 1

    # a row: the fields come from the model's features, filled from the first record; change one, predict
    fields = page.locator("#predict-fields [data-column]")
    assert await fields.count() == 30
    assert await page.input_value("#predict-record") == "p000"
    assert await page.input_value("#predict-fields [data-column='mean radius']") == "17.99"
    await page.fill("#predict-fields [data-column='mean radius']", "9.5")
    await page.fill("#predict-fields [data-column='worst area']", "")
    await page.click("#predict-button")
    await page.wait_for_selector("#predicted")
    assert await page.text_content("#predicted") in ("benign", "malignant")
    odds = await page.text_content("#predict-result") or ""
    assert odds.startswith("diagnosis: ") and ("(benign 0." in odds or "(benign 1." in odds)

    await page.click("#reproduce-button")
    await page.wait_for_selector("#reproduce-result.ok")
    assert (await page.text_content("#reproduce-result") or "").startswith("reproduced: match")

    shot = tmp_path / "models.png"
    await page.locator("#panel-train").scroll_into_view_if_needed()
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert errors == []
