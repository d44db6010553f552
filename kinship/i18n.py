"""Chinese and English text: gettext catalogues read with Babel.

Every text a person reads (the HTML report, the workbench, Prefect artifacts) is an English
``msgid`` translated through a gettext catalogue per *domain* and *locale*:
``kinship/locale/<locale>/LC_MESSAGES/<domain>.po`` (domains: ``report`` for the run report and
the shared terms and conclusion sentences, ``workbench`` for the web workbench's own pages). The
``.po`` files are the source, read at first use (:func:`translations`, cached) — there is no
compile step and no ``.mo`` file to keep in step. English is the msgids themselves; the
``en`` catalogue exists so that a missing translation is a test failure, not a silent English
fallback. Terms and conclusion sentences follow ``kinship/locale/GLOSSARY.md`` (GB/T 37223-2018
and SF/Z JD0105001-2016 wording); a native forensic reviewer should read a catalogue before a
lab relies on it.

Examples
--------
>>> negotiate("zh-CN,zh;q=0.9,en;q=0.8")
'zh_CN'
>>> negotiate("fr-FR")
'en'
>>> negotiate(None)
'en'
>>> negotiate("en-US,en;q=0.9,zh;q=0.5")
'en'
>>> negotiate("zh")
'zh_CN'
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = ["DEFAULT_LOCALE", "LOCALES", "catalogue_path", "negotiate", "translations"]

#: The locales every catalogue must have, as gettext names them.
LOCALES = ("en", "zh_CN")
#: The locale of a user or deployment that chose none and whose browser asked for neither.
DEFAULT_LOCALE = "en"

_LOCALE_DIR = Path(__file__).parent / "locale"


def catalogue_path(domain: str, locale: str) -> Path:
    """Path of the ``.po`` catalogue of ``domain`` in ``locale`` (one of :data:`LOCALES`).

    Raises
    ------
    ValueError
        ``locale`` is not one of :data:`LOCALES`.
    """
    if locale not in LOCALES:
        raise ValueError(f"locale {locale!r} is not offered; expected one of {', '.join(LOCALES)}")
    return _LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


@functools.lru_cache(maxsize=None)
def translations(domain: str, locale: str) -> Translations:
    """The gettext translations of ``domain`` in ``locale``, read from its ``.po`` file.

    Returns
    -------
    babel.support.Translations
        ``gettext``/``ngettext`` (and the Jinja2 ``i18n`` extension's ``install_gettext_translations``)
        work on it. A message without a translation in the file comes back as its msgid.

    Raises
    ------
    ValueError
        ``locale`` is not offered.
    FileNotFoundError
        The domain has no catalogue in that locale.
    """
    path = catalogue_path(domain, locale)
    with path.open("rb") as f:
        catalogue = read_po(f, locale=locale, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def negotiate(accept_language: str | None) -> str:
    """The offered locale a browser's ``Accept-Language`` header prefers; :data:`DEFAULT_LOCALE`
    when it names none of :data:`LOCALES` or is empty (RFC 9110 §12.5.4 quality values)."""
    if not accept_language:
        return DEFAULT_LOCALE
    asked = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            asked.append((q, tag.replace("-", "_")))
    asked.sort(key=lambda item: -item[0])  # stable: equal weights keep the header's order
    # a bare "zh" asks for Chinese: map it to the offered Simplified Chinese
    aliases = {"zh": "zh_CN", "zh_hans": "zh_CN", "zh_hans_cn": "zh_CN", "zh_sg": "zh_CN"}
    chosen = negotiate_locale([tag for _, tag in asked], list(LOCALES), aliases=aliases)
    # Babel hands back the browser's spelling ("ZH_cn"): give the offered name
    return next((name for name in LOCALES if chosen and name.lower() == chosen.lower()), DEFAULT_LOCALE)
