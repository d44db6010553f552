"""Write the workbench's gettext catalogues (``scripts/workbench-catalogue``) with Babel."""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from kinship.i18n import catalogue_path
from workbench.catalogue_source import EN, ZH
from workbench.text import msgids


def main() -> int:
    wanted = sorted(msgids())
    missing = [m for m in wanted if m not in ZH]
    if missing:
        print("no Chinese translation for: " + "; ".join(repr(m) for m in missing), file=sys.stderr)
        return 1
    for locale, table in (("en", EN), ("zh_CN", ZH)):
        catalog = Catalog(locale=locale, domain="workbench", project="Reunite workbench", charset="utf-8",
                          fuzzy=False)
        for m in wanted:
            catalog.add(m, table.get(m, m if locale == "en" else ""),
                        flags=("python-format",) if "%(" in m else ())
        path = catalogue_path("workbench", locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=0, omit_header=False, sort_output=True)
        print(f"wrote {path} ({len(wanted)} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
