from django.contrib import admin

from .models import AppDetails, IdempotentPost, Marker


@admin.register(AppDetails)
class AppDetailsAdmin(admin.ModelAdmin):
    list_display = ("application", "website", "scopes")
    raw_id_fields = ("application",)


@admin.register(Marker)
class MarkerAdmin(admin.ModelAdmin):
    list_display = ("user", "timeline", "last_read_id", "updated_at")
    raw_id_fields = ("user",)


@admin.register(IdempotentPost)
class IdempotentPostAdmin(admin.ModelAdmin):
    list_display = ("user", "key", "post", "created_at")
    raw_id_fields = ("user", "post")
