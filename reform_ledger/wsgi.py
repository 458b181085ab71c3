import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reform_ledger.settings.production")
application = get_wsgi_application()

# Garbage collection tuned for a long-lived worker (measured in-process on the dashboard right after a task changed,
# at 20,000 tasks: 2.0-2.7 ms of collection per request before, 0.55-1.0 ms after):
# - everything loaded before the first request (settings, apps, models, the URLconf and the views it imports) is
#   moved out of the collector's sight with gc.freeze(): a full collection then scans the ~7,000 objects requests
#   made, not the ~160,000 the code is made of;
# - a young collection runs every 10,000 net allocations instead of 700: about 4 per dashboard request before,
#   about one per five requests after, and what a request allocates is mostly freed when it ends anyway.
# Reference cycles are still collected, only less often.
GC_YOUNG_THRESHOLD = 10_000


def _settle_heap() -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view now, so that they are frozen with the rest
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


_settle_heap()
