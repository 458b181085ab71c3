"""``{% rollup_head headers %}``: a roll-up table's header row, written in Python like its body rows
(reports.views.tables.Table), since the pages show up to five such tables."""

from django import template

register = template.Library()


@register.simple_tag
def rollup_head(headers) -> str:
    from reports.views.tables import Table

    return Table.head_html(headers)
