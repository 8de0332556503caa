"""docs/benchmarks.md, one `## ` section per benchmark script.

`write_section(section)` puts a section (markdown whose first line is its
`## ` heading) in place of the section with the same heading, or at the end
when there is none yet, and leaves every other section alone.
"""

import pathlib
import re

HEADER = "# Benchmarks\n\nFigures written by the scripts in bench/ (see bench/README.md).\n"


def write_section(section, path="docs/benchmarks.md"):
    heading = section.splitlines()[0]
    assert heading.startswith("## "), f"a section starts with its ## heading, not {heading!r}"
    path = pathlib.Path(path)
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile("^" + re.escape(heading) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
