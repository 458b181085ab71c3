"""Plan extraction reads deadlines with the product's one parser, tasks/deadlines.py."""

from tasks.deadlines import (  # noqa: F401  (the engine and targets import these names from here)
    CN_DIGITS,
    DateContext,
    Deadline,
    cn_to_int,
    find_deadlines,
    month_end,
    parse_deadline_cell,
)
