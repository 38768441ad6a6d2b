"""Checks for the web pages the bot writes (the HTML report, the FAQ export).

`parse_page` parses a page with html5lib as a browser would, in strict mode: any parse error
(a tag left open or closed twice, a stray character reference, a duplicate attribute, a
missing doctype) fails the test and names the place. html.parser cannot do this: it accepts
anything without a word. `open_in_chromium` loads a page in headless Chromium (Debian's
`chromium`) and returns the DOM it built and what it wrote to its console; tests that need it
are skipped, saying so, where Chromium is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import html5lib
import pytest

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
BROWSER_SECONDS = 90
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*(.*)")


def parse_page(page: str) -> ET.Element:
    """The document tree; fails on the first HTML parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    try:
        document: ET.Element = parser.parse(page)
    except html5lib.html5parser.ParseError as error:
        line = error.args[0] if error.args else ""
        raise AssertionError(f"the page is not valid HTML: {line}") from None
    return document


def elements(tree: ET.Element, tag: str) -> list[ET.Element]:
    namespace = SVG if tag == "svg" else XHTML
    return list(tree.iter(f"{namespace}{tag}"))


def text_of(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def table_rows(tree: ET.Element, key: str) -> list[list[str]]:
    """The body rows of the table marked data-table=`key`, as cell texts."""
    (table,) = [t for t in elements(tree, "table") if t.get("data-table") == key]
    body = table.find(f"{XHTML}tbody")
    assert body is not None
    return [[text_of(cell) for cell in row] for row in body.iter(f"{XHTML}tr")]


def ids_are_unique(tree: ET.Element) -> list[str]:
    """Ids used more than once (none in a valid page)."""
    seen: dict[str, int] = {}
    for element in tree.iter():
        if element.get("id"):
            seen[element.get("id", "")] = seen.get(element.get("id", ""), 0) + 1
    return sorted(name for name, count in seen.items() if count > 1)


# ----- the browser ----------------------------------------------------------------------


def chromium() -> str:
    """The Chromium program, or skip the test saying the browser check was skipped."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "Chromium is not installed (Debian package 'chromium'): the browser check was skipped"
    )


@dataclass(frozen=True)
class BrowserView:
    dom: str  # the document as Chromium built it, serialised
    console: list[str]  # every console message: errors, blocked loads, CSP violations


def open_in_chromium(page: Path) -> BrowserView:
    """Load `page` (a file) in headless Chromium, with no network and a fresh profile."""
    program = chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        result = subprocess.run(
            [
                program,
                "--headless",
                "--no-sandbox",  # tests may run as root, where the sandbox refuses to start
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                # Everything the page would fetch resolves nowhere; it should fetch nothing.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--window-size=800,1200",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=BROWSER_SECONDS,
            env={**os.environ, "LANG": "C.UTF-8"},
            check=False,
        )
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    console = [m.group(1) for m in map(_CONSOLE.search, result.stderr.splitlines()) if m]
    return BrowserView(result.stdout, console)
