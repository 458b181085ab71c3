"""Plan extraction: paste or upload a plan, review the draft ledger, confirm."""

urlpatterns: list = []
