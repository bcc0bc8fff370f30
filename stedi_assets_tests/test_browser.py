"""End to end in a real browser: `stedi materialize` into a DAGSTER_HOME, then dagster-webserver in headless Chromium.

`test_webserver.py` reads the same webserver, on the same materialized sample (conftest's
`materialized_sample`), through GraphQL. This test looks at the pages a person opens: the catalog,
the asset lineage graph and an asset's Checks tab. It needs Debian's Chromium
(`apt-get install chromium`) and Playwright for Python (`pip install playwright`). It uses the
system browser and never downloads one. Without either of them the module is skipped.

Screenshots always go to the test's tmp_path. With STEDI_UPDATE_SCREENSHOTS=1 they are also
copied to docs/screenshots/, for the README.
"""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stedi_assets_tests.servers import REPO, dagster_server, tool
from stedi_assets_tests.test_webserver import GROUPS

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
_missing = [
    what
    for what, found in (
        ("Chromium (apt-get install chromium)", CHROMIUM),
        ("Playwright for Python (pip install playwright)", sync_playwright),
    )
    if not found
]
if _missing:
    pytest.skip(f"browser test needs {' and '.join(_missing)}", allow_module_level=True)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
LAUNCH_TIMEOUT_MS = 60_000
PAGE_TIMEOUT_MS = 60_000  # first page loads wait for the code location's asset graph
UI_TIMEOUT_MS = 30_000  # any one element to appear (on 2 busy cores the catalog has taken over 5 s)
ZOOM_STEPS = 6  # at most this many zoom-outs to fit the whole graph

# Playwright's `expect` has its own 5-second default, apart from the browser context's timeouts.
expect.set_options(timeout=UI_TIMEOUT_MS)

ML_CHECKS = ["cross_customer_pairs", "no_personal_columns", "not_empty", "schema_valid"]
SCREENSHOT_DIR = REPO / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("STEDI_UPDATE_SCREENSHOTS") == "1"

# Dagster's "Join the Dagster community" dialog covers the page on localhost the first time; it stays
# dismissed once the browser has this localStorage entry (what its Skip button stores).
DISMISS_COMMUNITY_DIALOG = "try { localStorage.setItem('communityNux', JSON.stringify('1')); } catch (e) {}"


@pytest.fixture(scope="module")
def webserver(materialized_sample, tmp_path_factory):
    """dagster-webserver on the session's materialized sample, the code location loaded (else the UI would
    show a load error); yields its base URL; always stopped."""
    _, env = materialized_sample
    log = tmp_path_factory.mktemp("browser") / "webserver.log"
    with dagster_server([tool("dagster-webserver")], env, log) as server:
        yield server.base


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright; closed (with Playwright's driver) after the module."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, webserver, tmp_path):
    """A fresh browser context on the webserver (nothing leaves the loopback origin); last view saved on teardown."""
    context = browser.new_context(
        viewport=VIEWPORT,
        device_scale_factor=1,
        locale="en-US",
        timezone_id="UTC",
        color_scheme="light",
        base_url=webserver,
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    context.add_init_script(DISMISS_COMMUNITY_DIALOG)

    origin = urlsplit(webserver).netloc

    def local_only(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https") and url.netloc != origin:
            route.abort()
        else:
            route.continue_()

    context.route("**/*", local_only)
    page = context.new_page()
    try:
        yield page
    finally:
        try:
            page.screenshot(path=tmp_path / "last-page.png", timeout=UI_TIMEOUT_MS)  # for a failing test
        finally:
            context.close()


def _save(page, tmp_path: Path, name: str) -> Path:
    """Screenshot into tmp_path; also into docs/screenshots/ when STEDI_UPDATE_SCREENSHOTS=1."""
    path = tmp_path / name
    page.screenshot(path=path, timeout=UI_TIMEOUT_MS)
    if UPDATE_SCREENSHOTS:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOT_DIR / name)
    return path


def _first_line(text: str) -> str:
    """Dagster renders a name twice (shown, and measured for middle truncation): keep the shown one."""
    return text.strip().splitlines()[0].strip()


def _names_a_label(label: str, name: str) -> bool:
    """A graph node's label is its asset's name, or that name cut in the middle (`accelerom…_landing`)."""
    if "…" not in label:
        return label == name
    head, tail = label.split("…", 1)
    return len(head) + len(tail) < len(name) and name.startswith(head) and name.endswith(tail)


def test_catalog_lists_every_asset_in_its_group(page, tmp_path):
    """Catalog: exactly the twelve assets; each row links its asset's group."""
    page.goto("/assets")
    asset_links = page.locator('a[href^="/assets/"]')
    expect(asset_links.first).to_be_visible()
    expect(page.locator('a[href="/assets/machine_learning_curated"]')).to_be_visible()
    listed = {
        href.removeprefix("/assets/")
        for href in asset_links.evaluate_all("links => links.map(link => link.getAttribute('href'))")
    }
    assert listed == set(GROUPS)

    for key, group in GROUPS.items():
        # The row: the nearest element around the asset's link that also holds a group link.
        row = page.locator(f'a[href="/assets/{key}"]').locator(
            "xpath=ancestor::*[.//a[starts-with(@href, '/asset-groups')]][1]"
        )
        group_links = row.locator('a[href^="/asset-groups"]')
        expect(group_links).to_have_count(1)
        assert _first_line(group_links.inner_text()) == group, key
    # Every row's status once loaded: its count of (ingest date) partitions.
    expect(page.get_by_text(re.compile(r"^\d+ partitions$"))).to_have_count(len(GROUPS))
    _save(page, tmp_path, "asset-catalog.png")


def test_asset_graph_shows_the_three_groups(page, tmp_path):
    """Lineage: the sidebar lists each group's assets; the graph, with all groups expanded, has their 11 nodes."""
    page.goto("/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()

    # Sidebar tree: open every group.
    group_rows = page.locator("[data-index]").filter(has=page.get_by_role("img", name="asset_group"))
    expect(group_rows).to_have_count(len(set(GROUPS.values())))
    for index in range(group_rows.count()):
        group_rows.nth(index).get_by_role("button", name="arrow_drop_down").click()
    rows = page.locator("[data-index]")
    expect(rows).to_have_count(len(GROUPS) + len(set(GROUPS.values())))
    tree, group = {}, None
    for index in range(rows.count()):
        row = rows.nth(index)
        name = _first_line(row.inner_text())
        if row.get_by_role("img", name="asset_group").count():
            group = name
        else:
            tree[name] = group
    assert tree == GROUPS

    # Graph: expand all groups from the graph's settings menu.
    page.get_by_role("button", name="settings", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("Expand all groups")).click()
    page.keyboard.press("Escape")
    graph = page.locator("[data-svg-viewport]")
    # Expanded: a box per group and a node per asset, each with a label.
    expect(graph.locator("foreignObject", has_text=re.compile(r"\S"))).to_have_count(
        len(GROUPS) + len(set(GROUPS.values()))
    )
    labels = [text.strip() for text in graph.locator("foreignObject").all_text_contents() if text.strip()]
    groups = sorted(label for label in labels if label in set(GROUPS.values()))
    nodes = [label for label in labels if label not in set(GROUPS.values())]
    assert groups == sorted(set(GROUPS.values())), labels
    assert len(nodes) == len(GROUPS), labels
    for key in GROUPS:
        assert sum(_names_a_label(label, key) for label in nodes) == 1, (key, nodes)

    _zoom_to_fit(page, graph)
    _save(page, tmp_path, "asset-graph.png")


def _zoom_to_fit(page, graph) -> None:
    """Zoom out (the graph's zoom_out button) until every node and group box is in the clear part of the graph:
    below the search bar and left of the zoom buttons, which float over the graph."""

    def fits() -> bool:
        view = graph.bounding_box()
        search = page.get_by_role("textbox", name="Search and filter assets").bounding_box()
        zoom = page.get_by_role("button", name="zoom_in").bounding_box()
        boxes = [box for box in (node.bounding_box() for node in graph.locator("foreignObject").all()) if box]
        if not (view and search and zoom and boxes):
            return False
        margin = 8
        top, left = search["y"] + search["height"] + 3 * margin, view["x"] + margin
        right, bottom = zoom["x"] - margin, view["y"] + view["height"] - margin
        return all(
            left <= box["x"]
            and box["x"] + box["width"] <= right
            and top <= box["y"]
            and box["y"] + box["height"] <= bottom
            for box in boxes
        )

    for _ in range(ZOOM_STEPS):
        if fits():
            return
        page.get_by_role("button", name="zoom_out").click()
        page.wait_for_timeout(600)  # the zoom animates
    assert fits(), "the asset graph does not fit in the window"


def test_checks_tab_shows_passing_checks(page, tmp_path):
    """machine_learning_curated's Checks tab: its four checks, each Succeeded, each latest evaluation Passed."""
    for name in ML_CHECKS:
        page.goto(f"/assets/machine_learning_curated?view=checks&checkDetail={name}")
        expect(page.get_by_role("tab", name="Checks")).to_have_attribute("aria-selected", "true")
        expect(page.get_by_text(f"Checks ({len(ML_CHECKS)})")).to_be_visible()
        for listed in ML_CHECKS:
            expect(page.get_by_title(listed, exact=True)).to_be_visible()
        expect(page.get_by_text("Succeeded", exact=True)).to_have_count(len(ML_CHECKS))
        # The detail pane, headed by the check's name: its latest execution passed, in a run.
        expect(page.get_by_role("img", name="asset_check").locator("xpath=..")).to_have_text(name)
        expect(page.get_by_text("Evaluation result")).to_be_visible()
        expect(page.get_by_text("Passed", exact=True)).to_be_visible()
        expect(page.get_by_text("Failed", exact=True)).to_have_count(0)
        expect(page.locator('a[href^="/runs/"]').first).to_be_visible()

    page.goto(f"/assets/machine_learning_curated?view=checks&checkDetail={ML_CHECKS[0]}")
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    expect(page.get_by_text("Plots")).to_be_visible()
    _save(page, tmp_path, "asset-checks.png")
