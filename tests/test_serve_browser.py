"""`nnfun serve` in a real browser: headless Chromium draws digits with pointer events.

Needs the Debian packages `chromium` and `chromium-driver` (`.ci/run` installs them) and
Selenium (in the dev extra); without them the tests skip, saying so.
"""

from __future__ import annotations

import base64
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from test_serve import running

webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.actions import interaction  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.pointer_input import PointerInput  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

Stroke = list[tuple[float, float]]
"""Points of one pen stroke, in units of the canvas side, (0, 0) at its centre, y down."""


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Points along an ellipse from angle `start` to `end` (degrees; 0 is right, 90 is down)."""
    steps = max(2, int(abs(end - start) / 12))
    angles = np.radians(np.linspace(start, end, steps + 1))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _eight() -> Stroke:
    """A figure of eight in one stroke: x = a·sin 2t, y = -b·cos t, from the top."""
    t = np.linspace(0, 2 * math.pi, 49)
    return [(0.12 * math.sin(2 * s), -0.28 * math.cos(s)) for s in t]


DIGITS: dict[int, list[Stroke]] = {
    # Each drawn the way a person might, with a pen's strokes in their usual order.
    0: [_arc(0, 0, 0.16, 0.27, -90, -90 - 370)],
    1: [[(-0.06, -0.2), (0.03, -0.28), (0.02, 0.0), (0.01, 0.28)]],
    2: [_arc(0, -0.12, 0.15, 0.14, 200, 380) + [(-0.17, 0.27), (0.18, 0.27)]],
    3: [_arc(0, -0.14, 0.14, 0.12, 210, 450) + _arc(0, 0.13, 0.16, 0.14, -90, 150)],
    4: [[(0.04, -0.28), (-0.17, 0.07), (0.18, 0.07)], [(0.08, -0.14), (0.07, 0.29)]],
    5: [
        [(-0.1, -0.27), (-0.13, -0.02)] + _arc(0, 0.11, 0.15, 0.15, -120, 150),
        [(-0.1, -0.27), (0.16, -0.27)],
    ],
    6: [
        [(0.12, -0.28)]
        + _arc(0.04, 0.0, 0.17, 0.28, -110, -190)
        + _arc(0, 0.13, 0.14, 0.14, 180, 540)
    ],
    7: [[(-0.17, -0.25), (0.17, -0.25), (-0.04, 0.28)]],
    8: [_eight()],
    9: [_arc(0, -0.12, 0.13, 0.13, 0, -360) + [(0.12, 0.28)]],
}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium under chromedriver, on a fresh profile; skipped where they are missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip(
            "needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless=new",
        "--no-sandbox",  # Chromium's sandbox refuses to run as root, as CI does
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page_url(small_run: Path) -> Iterator[str]:
    with running(small_run) as port:
        yield f"http://127.0.0.1:{port}/"


def open_page(driver: Any, url: str) -> None:
    driver.get(url)
    wait_for(driver, lambda d: "784-64-10" in d.find_element(By.ID, "model").text)
    assert status(driver) == "draw a digit"


def wait_for(driver: Any, condition: Any, seconds: float = 15) -> Any:
    return WebDriverWait(driver, seconds, poll_frequency=0.05).until(condition)


def status(driver: Any) -> str:
    return str(driver.find_element(By.ID, "status").text)


def draw(driver: Any, strokes: list[Stroke], kind: str = interaction.POINTER_MOUSE) -> None:
    """Draw `strokes` on the canvas with pointer events: down, moves along the points, up."""
    pad = driver.find_element(By.ID, "pad")
    side = pad.size["width"]
    pen = PointerInput(kind, kind)
    actions = ActionBuilder(driver, mouse=pen, duration=8)
    for stroke in strokes:
        x, y = stroke[0]
        actions.pointer_action.move_to(pad, round(x * side), round(y * side))
        actions.pointer_action.pointer_down()
        for x, y in stroke[1:]:
            actions.pointer_action.move_to(pad, round(x * side), round(y * side))
        actions.pointer_action.pointer_up()
    actions.perform()


def settled(driver: Any) -> bool:
    """No answer on its way: the reading shown is for the picture as it is now."""
    return driver.find_element(By.CSS_SELECTOR, ".reading").get_attribute("aria-busy") == "false"


def draw_and_read(driver: Any, strokes: list[Stroke]) -> tuple[str, str]:
    """Draw, wait for the answer to the finished drawing, return (digit, confidence) shown."""
    draw(driver, strokes)
    wait_for(driver, lambda d: settled(d) and d.find_element(By.ID, "digit").text != "")
    return (
        driver.find_element(By.ID, "digit").text,
        driver.find_element(By.ID, "confidence").text,
    )


def seen_ink(driver: Any) -> float:
    """Sum of the 28x28 image the page shows as what the network saw, in [0, 784]."""
    script = """
        const data = document.getElementById('seen').getContext('2d').getImageData(0, 0, 28, 28).data;
        let total = 0;
        for (let i = 0; i < data.length; i += 4) total += data[i];
        return total / 255;
    """
    return float(driver.execute_script(script))


def test_draw_a_seven_then_clear(browser: Any, page_url: str, tmp_path: Path) -> None:
    open_page(browser, page_url)
    digit, confidence = draw_and_read(browser, DIGITS[7])
    assert digit == "7"
    assert confidence.endswith("%") and float(confidence[:-1]) > 50
    assert status(browser) == f"the network reads 7 ({confidence})"
    best = browser.find_elements(By.CSS_SELECTOR, "#bars li.best")
    assert [li.get_attribute("aria-label") for li in best] == [f"7: {confidence}"]
    assert seen_ink(browser) > 30
    browser.save_screenshot(str(tmp_path / "seven.png"))
    assert (tmp_path / "seven.png").stat().st_size > 10_000
    browser.find_element(By.ID, "clear").click()
    wait_for(browser, lambda d: status(d) == "draw a digit")
    assert browser.find_element(By.ID, "digit").text == ""
    assert seen_ink(browser) == 0


def test_most_digits_drawn_by_hand_are_read_right(browser: Any, page_url: str) -> None:
    open_page(browser, page_url)
    read = {}
    for digit, strokes in DIGITS.items():
        read[digit] = draw_and_read(browser, strokes)[0]
        browser.find_element(By.ID, "clear").click()
        wait_for(browser, lambda d: status(d) == "draw a digit")
    print("drawn -> read:", read)
    assert sum(str(digit) == shown for digit, shown in read.items()) >= 8, read


def test_undo_and_keyboard_shortcuts(browser: Any, page_url: str) -> None:
    open_page(browser, page_url)
    undo = browser.find_element(By.ID, "undo")
    assert not undo.is_enabled()
    bar, slash = [(-0.17, -0.25), (0.17, -0.25)], [(0.17, -0.25), (-0.04, 0.28)]
    assert draw_and_read(browser, [bar, slash])[0] == "7"
    webdriver.ActionChains(browser).key_down(Keys.CONTROL).send_keys("z").key_up(
        Keys.CONTROL
    ).perform()
    wait_for(browser, lambda d: seen_ink(d) > 0 and status(d) != "draw a digit")
    undo.click()
    wait_for(browser, lambda d: status(d) == "draw a digit")
    assert not undo.is_enabled()
    assert draw_and_read(browser, DIGITS[7])[0] == "7"
    webdriver.ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    wait_for(browser, lambda d: status(d) == "draw a digit")


def test_controls_are_labelled_and_reachable_by_keyboard(browser: Any, page_url: str) -> None:
    open_page(browser, page_url)
    draw(browser, DIGITS[1])
    wait_for(browser, lambda d: d.find_element(By.ID, "undo").is_enabled())
    browser.execute_script("document.activeElement.blur()")
    reached = []
    for _ in range(3):
        webdriver.ActionChains(browser).send_keys(Keys.TAB).perform()
        reached.append(browser.switch_to.active_element.get_attribute("id"))
    assert reached == ["undo", "clear", "file"]
    label = browser.find_element(By.CSS_SELECTOR, "label[for=file]").text
    assert label.startswith("Choose an image")
    assert browser.find_element(By.ID, "pad").get_attribute("aria-label")


def test_choose_or_drop_an_image_file(browser: Any, page_url: str, mnist, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    open_page(browser, page_url)
    photo = Image.fromarray(255 - mnist["t10k-images-idx3-ubyte"][1]).resize((200, 200))
    photo.save(tmp_path / "two.jpg", quality=90)
    browser.find_element(By.ID, "file").send_keys(str(tmp_path / "two.jpg"))
    wait_for(browser, lambda d: d.find_element(By.ID, "digit").text == "2")
    browser.find_element(By.ID, "clear").click()
    wait_for(browser, lambda d: status(d) == "draw a digit")
    Image.fromarray(mnist["t10k-images-idx3-ubyte"][0]).save(tmp_path / "seven.png")
    drop = """
        const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
        const files = new DataTransfer();
        files.items.add(new File([bytes], "seven.png", {type: "image/png"}));
        const pad = document.getElementById("pad");
        pad.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true}));
    """
    png = base64.b64encode((tmp_path / "seven.png").read_bytes()).decode()
    browser.execute_script(drop, png)
    wait_for(browser, lambda d: d.find_element(By.ID, "digit").text == "7")


def test_an_unreadable_file_clears_the_last_reading_and_says_so_plainly(
    browser: Any, page_url: str, tmp_path: Path
) -> None:
    """After an error nothing of the previous picture stays: not its digit, bars or 28x28 image;
    and the message speaks of what the page can take (not of .npy or IDX files)."""
    open_page(browser, page_url)
    assert draw_and_read(browser, DIGITS[7])[0] == "7" and seen_ink(browser) > 30
    for name, body in (("notes.png", b"these are notes, not a picture"), ("empty.png", b"")):
        (tmp_path / name).write_bytes(body)
        browser.find_element(By.ID, "file").send_keys(str(tmp_path / name))
        wait_for(browser, lambda d: settled(d) and status(d).startswith("error: "))
        message = status(browser)
        assert "choose a PNG, JPEG" in message and ".npy" not in message and "IDX" not in message
        assert browser.find_element(By.ID, "digit").text == ""
        assert not browser.find_elements(By.CSS_SELECTOR, "#bars li.best")
        assert seen_ink(browser) == 0
        browser.find_element(By.ID, "clear").click()
        wait_for(browser, lambda d: status(d) == "draw a digit")
        assert draw_and_read(browser, DIGITS[7])[0] == "7"


def test_a_phone_sized_window_draws_with_a_finger(
    browser: Any, page_url: str, tmp_path: Path
) -> None:
    metrics = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        open_page(browser, page_url)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing sticks out sideways
        assert browser.find_element(By.ID, "pad").size["width"] <= 360
        draw(browser, DIGITS[7], kind=interaction.POINTER_TOUCH)
        wait_for(browser, lambda d: d.find_element(By.ID, "digit").text == "7")
        browser.save_screenshot(str(tmp_path / "phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
