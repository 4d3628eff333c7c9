from django.contrib import admin

from .models import Attachment, Bookmark, FeedEntry, Hashtag, Like, Mention, Post, PostEdit, PostHashtag


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    raw_id_fields = ("owner",)


class PostEditInline(admin.TabularInline):
    model = PostEdit
    extra = 0
    readonly_fields = ("text", "content_warning", "created_at", "replaced_at")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "author",
        "short_text",
        "visibility",
        "moderation_state",
        "created_at",
        "deleted_at",
    )
    list_filter = ("moderation_state", "visibility")
    search_fields = ("text", "author__username")
    raw_id_fields = ("author", "in_reply_to", "thread_root", "repost_of")
    readonly_fields = ("html",)
    inlines = [AttachmentInline, PostEditInline]
    list_select_related = ("author",)
    show_full_result_count = False  # counting a million rows on every page load is slow

    @admin.display(description="text")
    def short_text(self, obj: Post) -> str:
        return obj.text[:60]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "post", "content_type", "size", "created_at")
    raw_id_fields = ("owner", "post")


@admin.register(PostEdit)
class PostEditAdmin(admin.ModelAdmin):
    list_display = ("post", "created_at", "replaced_at")
    raw_id_fields = ("post",)


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ("user", "post", "created_at")
    raw_id_fields = ("user", "post")


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(PostHashtag)
class PostHashtagAdmin(admin.ModelAdmin):
    raw_id_fields = ("post", "hashtag")


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):
    raw_id_fields = ("post", "user")


@admin.register(FeedEntry)
class FeedEntryAdmin(admin.ModelAdmin):
    list_display = ("owner", "post")
    raw_id_fields = ("owner", "post")
    show_full_result_count = False


@admin.register(Bookmark)
class BookmarkAdmin(admin.ModelAdmin):
    list_display = ("user", "post", "created_at")
    raw_id_fields = ("user", "post")
