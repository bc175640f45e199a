"""Screenshots of a running portal (`make run`) for docs/screenshots/, as the demo users see it.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000/

Needs Playwright (requirements-dev.txt) and Debian's /usr/bin/chromium. Touches nothing but the pages it opens.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "demo-pass-2026"


def login(page, base: str, username: str) -> None:
    page.goto(base + "login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def main(base: str) -> None:
    base = base.rstrip("/") + "/"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        shots = [
            ("alice", None, "foundation-queue-overview-alice.png"),
            ("sam", None, "foundation-queue-overview-supervisor.png"),
            ("sam", "admin/cases/case/", "foundation-admin-cases.png"),
            ("sam", "admin/cases/refund/", "foundation-admin-refunds.png"),
            ("carol", None, "foundation-my-cases-carol.png"),
        ]
        for username, path, name in shots:
            context = browser.new_context(viewport={"width": 1366, "height": 860})
            page = context.new_page()
            login(page, base, username)
            if path:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / name), full_page=True)
            print(f"{username:<6} {page.url:<50} -> docs/screenshots/{name}")
            context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/")
