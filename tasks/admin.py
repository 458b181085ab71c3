from django.contrib import admin

from .models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """Documents are edited here; tasks are edited in the ledger so every change is versioned and audited."""

    list_display = ["doc_number", "title", "issuer", "issued_on"]
    search_fields = ["doc_number", "title"]
    exclude = ["source_text"]
