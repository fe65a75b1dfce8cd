r"""Escaping of data strings on their way into map HTML.

Two contexts exist in a map page:

* HTML text or attribute values (popups, tooltips, legends): :func:`escape_html` turns
  ``< > & " '``, the backtick and braces into character references, so data shows as text
  (braces too, because folium re-parses rendered element text as a Jinja template).
* JSON embedded in an inline ``<script>``: :func:`script_json` writes strict JSON and
  additionally escapes ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\uXXXX`` so no value can
  close the script element (``</script>``), open a comment (``<!--``) or end a JS line, and
  a ``{`` that starts ``{{``, ``{%`` or ``{#`` (only possible inside strings) so no value is
  ever read as template syntax.

Every string that comes from data is passed through :func:`escape_html` in Python before it
is put into the page's data (the browser code inserts those strings as HTML), and every data
structure is embedded with :func:`script_json`. Jinja templates never interpolate data
directly, so ``{{ ... }}`` inside data stays literal text.

Turning numpy and pandas values into plain JSON data is not escaping:
:func:`ward_geo.jsonsafe.json_safe` does that (re-exported here for old imports).
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

import numpy as np

from ward_geo.jsonsafe import json_safe

__all__ = ["escape_html", "script_json", "json_safe"]

_TEMPLATE_OPEN = re.compile(r"\{(?=[{%#])")
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def escape_html(value: object) -> str:
    """HTML-escape ``value`` for text or quoted attribute context.

    ``None`` and NaN become an empty string; other values are converted with ``str``.

    >>> escape_html('<img src=x onerror="alert(1)">`{{x}}')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#96;&#123;&#123;x&#125;&#125;'
    """
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("{", "&#123;").replace("}", "&#125;")


def _default(value: Any) -> Any:
    if isinstance(value, (np.generic, np.ndarray)):
        return json_safe(value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def script_json(value: Any) -> str:
    r"""Serialise ``value`` as JSON that is safe inside an inline ``<script>`` element.

    >>> script_json({"d": "</script><b>&"})
    '{"d":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    """
    try:
        # Fast path: plain data (numpy scalars/arrays through ``default``); NaN raises.
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default)
    except ValueError:
        text = json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, repl in _SCRIPT_ESCAPES.items():
        text = text.replace(char, repl)
    # In JSON a "{" followed by "{", "%" or "#" can only sit inside a string.
    return _TEMPLATE_OPEN.sub(r"\\u007b", text)
