"""rollups pages."""

urlpatterns: list = []
