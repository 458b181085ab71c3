"""``{% unit_datalist_options unit_options %}``: the <option>s of a unit-name datalist.

Written here rather than as a template loop: a province has a few hundred units, short names and aliases, and
the loop through the template engine cost more than the rest of the ledger page's rows.
"""

import html

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def unit_datalist_options(options) -> str:
    """`options` as given by departments.selectors.unit_datalist_options: (what may be typed, canonical name)."""
    esc = html.escape
    return mark_safe(  # noqa: S308 - both parts escaped
        "".join(
            f'<option value="{esc(value)}">{esc(canonical) if value != canonical else ""}</option>'
            for value, canonical in options
        )
    )
