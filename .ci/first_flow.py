"""Prints the getting-started flow of the docs (the first Python block under "A first flow"), for .ci/wheel-smoke."""

import re
import sys
from pathlib import Path

page = Path(sys.argv[1]).read_text()
section = page[page.index("## A first flow") :]
print(re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1))  # type: ignore[union-attr]
