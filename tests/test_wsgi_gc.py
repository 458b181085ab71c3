"""The WSGI module settles the worker's heap before the first request (reform_ledger/wsgi.py): what was loaded is
frozen out of the collector's sight and young collections run less often. Run in a child process: freezing the
test runner's heap would change every other test's collections."""

import os
import subprocess
import sys

from django.conf import settings

CODE = (
    "import gc, sys; import reform_ledger.wsgi as w;"
    "print(gc.get_freeze_count(), gc.get_threshold()[0], w.GC_YOUNG_THRESHOLD, 'reports.views.dashboard' in sys.modules)"
)


def test_wsgi_freezes_the_loaded_code_and_raises_the_young_threshold():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE),
    }
    out = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
    ).stdout.split()
    frozen, threshold, wanted, views_loaded = int(out[0]), int(out[1]), int(out[2]), out[3]
    assert frozen > 50_000  # the apps, models and views, not a handful of objects
    assert threshold == wanted > 700
    assert views_loaded == "True"  # the URLconf's views were imported before the freeze
