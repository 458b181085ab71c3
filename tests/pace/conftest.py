# The hand-built ledger of the roll-up tests (its figures are worked out by hand there) serves the 通报 tests too.
from tests.rollups.conftest import ledger  # noqa: F401
