"""The Item admin: the shop's catalog in its own words, with availability that reaches serving."""

from django import forms
from django.contrib import admin, messages

from experiments.domain.item_fields import ItemInvalid, category_path_normalize, item_fields_parse
from experiments.models import Item
from experiments.models.catalog import CATEGORY_SEPARATOR
from experiments.services.item_upserts import item_availability_saved, items_availability_set

CATEGORY_CHOICES_MAX = 200  # distinct paths the filter lists; deeper levels are found by search


class CategoryListFilter(admin.SimpleListFilter):
    """Filter by a category of the first two levels ("Women", "Women > Shoes"): the items in it
    and in every category below it."""

    title = "category"
    parameter_name = "category_path"

    def lookups(self, request, model_admin):
        paths = Item.objects.order_by("category").values_list("category", flat=True).distinct()
        levels: set[str] = set()
        for path in paths[:5_000]:
            parts = path.split(CATEGORY_SEPARATOR)
            levels.update(CATEGORY_SEPARATOR.join(parts[:depth]) for depth in (1, 2) if len(parts) >= depth)
            if len(levels) >= CATEGORY_CHOICES_MAX:
                break
        return [(level, level) for level in sorted(levels) if level]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(category=value) | queryset.filter(
            category__startswith=value + CATEGORY_SEPARATOR
        )


class ItemForm(forms.ModelForm):
    """The import's rules for the fields a person types: category paths and currency codes."""

    image_url = forms.URLField(max_length=1000, required=False, assume_scheme="https")

    class Meta:
        model = Item
        fields = (
            "item_id",
            "title",
            "description",
            "available",
            "category",
            "brand",
            "price",
            "currency",
            "attributes",
            "image_url",
            "created_at",
        )

    def clean_category(self):
        return category_path_normalize(self.cleaned_data["category"])

    def clean_currency(self):
        try:
            return item_fields_parse({"item_id": "x", "currency": self.cleaned_data["currency"]})["currency"]
        except ItemInvalid as exc:
            raise forms.ValidationError(
                "An ISO 4217 code of three letters, e.g. EUR.", code=exc.code
            ) from exc


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    form = ItemForm
    list_display = ("item_id", "title", "category", "brand", "price", "currency", "available", "updated_at")
    list_filter = ("available", CategoryListFilter, "currency")
    search_fields = ("item_id", "title", "category", "brand")
    readonly_fields = ("updated_at",)
    list_per_page = 50
    show_full_result_count = False  # counting a million items on every page is slow
    actions = ("mark_unavailable", "mark_available")
    fieldsets = (
        (None, {"fields": ("item_id", "title", "description", "available")}),
        ("Catalog", {"fields": ("category", "brand", "price", "currency", "attributes", "image_url")}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    def has_delete_permission(self, request, obj=None):
        """Items are never deleted, here as in imports: trained models and the serving catalog
        still hold a deleted item until the next retraining, and its history would lose its
        item. Delisting is marking it unavailable, which serving honours within seconds."""
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "available" in form.changed_data or (not change and not obj.available):
            item_availability_saved(item_id=obj.item_id)

    @admin.action(
        description="Mark the selected items unavailable (no longer served)", permissions=["change"]
    )
    def mark_unavailable(self, request, queryset):
        changed = items_availability_set(
            item_ids=list(queryset.values_list("item_id", flat=True)), available=False
        )
        self.message_user(request, f"{changed} items marked unavailable.", messages.SUCCESS)

    @admin.action(description="Mark the selected items available", permissions=["change"])
    def mark_available(self, request, queryset):
        changed = items_availability_set(
            item_ids=list(queryset.values_list("item_id", flat=True)), available=True
        )
        self.message_user(request, f"{changed} items marked available.", messages.SUCCESS)
