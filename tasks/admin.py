from django.contrib import admin

from .models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """Documents are edited here; tasks are edited in the ledger so every change is versioned and audited."""

    list_display = ["doc_number", "title", "issuer", "issued_on"]
    search_fields = ["doc_number", "title"]
    exclude = ["source_text"]

    # The system administrator manages accounts and units only; ledger data is changed in the ledger (audited).
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
