"""Server-rendered pages. Views only translate HTTP to service calls and back."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from microblog.accounts import services as accounts
from microblog.accounts.models import AccessToken
from microblog.errors import ServiceUnavailable
from microblog.notifications import services as notifications
from microblog.posts import search as post_search
from microblog.posts import services as posts
from microblog.posts import timelines
from microblog.posts.media import store_attachment
from microblog.ratelimit import rate_limited

from .forms import EditPostForm, PostForm, ProfileForm, SearchForm, SignupForm, TokenForm, add_service_errors


def _cursor(request: HttpRequest) -> int | None:
    try:
        value = int(request.GET.get("before", ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def _timeline(request, template: str, page: timelines.Page, **context) -> HttpResponse:
    return render(request, template, {"page": page, **context})


def _publish(request: HttpRequest, form: PostForm, in_reply_to: int | None = None):
    """Create a post from a submitted form; returns the post or None with errors on the form."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        attachment_ids = []
        if data.get("image"):
            attachment_ids.append(store_attachment(request.user, data["image"], data["alt_text"]).pk)
        return posts.create_post(
            request.user,
            text=data["text"],
            content_warning=data["content_warning"],
            visibility=data["visibility"],
            in_reply_to=in_reply_to,
            attachment_ids=attachment_ids,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "file" in exc.error_dict:
            exc = ValidationError({"image": exc.error_dict["file"]})
        add_service_errors(form, exc)
    except ServiceUnavailable as exc:
        form.add_error(None, exc.message)
    return None


@rate_limited("posting")
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("public")
    form = PostForm()
    if request.method == "POST":
        form = PostForm(request.POST, request.FILES)
        if _publish(request, form):
            messages.success(request, "Posted.")
            return redirect("home")
    page = timelines.home(request.user, before=_cursor(request))
    return _timeline(request, "web/home.html", page, form=form, title="Home")


def public(request: HttpRequest) -> HttpResponse:
    page = timelines.public(request.user, before=_cursor(request))
    return _timeline(request, "web/timeline.html", page, title="Local timeline")


def hashtag(request: HttpRequest, name: str) -> HttpResponse:
    page = timelines.hashtag(request.user, name, before=_cursor(request))
    return _timeline(request, "web/timeline.html", page, title=f"#{name}")


def profile(request: HttpRequest, username: str) -> HttpResponse:
    account = accounts.get_account(username)
    page = timelines.profile(request.user, account, before=_cursor(request))
    return _timeline(
        request,
        "web/profile.html",
        page,
        account=account,
        relation=accounts.relationship(request.user, account),
        title=f"{account.name} (@{account.username})",
    )


def follow_list(request: HttpRequest, username: str, direction: str) -> HttpResponse:
    account = accounts.get_account(username)
    people, _ = accounts.follow_list(account, direction, limit=200)
    return render(
        request,
        "web/people.html",
        {
            "account": account,
            "people": people,
            "direction": direction,
            "title": f"{direction.title()} of @{account.username}",
        },
    )


@login_required
@require_POST
def relation_action(request: HttpRequest, username: str, action: str) -> HttpResponse:
    account = accounts.get_account(username)
    handlers = {
        "follow": accounts.follow,
        "unfollow": accounts.unfollow,
        "block": accounts.block,
        "unblock": accounts.unblock,
        "mute": accounts.mute,
        "unmute": accounts.unmute,
    }
    try:
        handlers[action](request.user, account)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _back(request, account.get_absolute_url())


@rate_limited("posting")
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    form = PostForm()
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?next={request.path}")
        form = PostForm(request.POST, request.FILES)
        reply = _publish(request, form, in_reply_to=post_id)
        if reply:
            messages.success(request, "Reply posted.")
            return redirect("post-detail", post_id=post_id)
    thread = timelines.thread(request.user, post_id)
    return render(request, "web/thread.html", {"thread": thread, "form": form, "title": "Post"})


@login_required
def post_edit(request: HttpRequest, post_id: int) -> HttpResponse:
    post = posts.get_own_post(request.user, post_id)
    form = EditPostForm(initial={"text": post.text, "content_warning": post.content_warning})
    if request.method == "POST":
        form = EditPostForm(request.POST)
        if form.is_valid():
            try:
                posts.edit_post(request.user, post_id, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Post updated.")
                return redirect("post-detail", post_id=post_id)
    return render(request, "web/post_edit.html", {"form": form, "post": post, "title": "Edit post"})


@login_required
def post_delete(request: HttpRequest, post_id: int) -> HttpResponse:
    post = posts.get_own_post(request.user, post_id)
    if request.method == "POST":
        posts.delete_post(request.user, post_id)
        messages.success(request, "Post deleted.")
        return redirect("profile", username=request.user.username)
    return render(request, "web/post_delete.html", {"post": post, "title": "Delete post"})


def post_history(request: HttpRequest, post_id: int) -> HttpResponse:
    post, edits = posts.history(request.user, post_id)
    return render(request, "web/post_history.html", {"post": post, "edits": edits, "title": "Edit history"})


@login_required
@require_POST
def post_action(request: HttpRequest, post_id: int, action: str) -> HttpResponse:
    handlers = {
        "like": posts.like,
        "unlike": posts.unlike,
        "repost": posts.repost,
        "unrepost": posts.unrepost,
    }
    try:
        handlers[action](request.user, post_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _back(request, reverse("post-detail", args=[post_id]))


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    items, next_cursor = notifications.for_user(request.user, before=_cursor(request))
    response = render(
        request,
        "web/notifications.html",
        {"items": items, "next_cursor": next_cursor, "title": "Notifications"},
    )
    notifications.mark_all_read(request.user)
    return response


@rate_limited("search", methods=("GET",))
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    page, people, query = None, [], ""
    if form.is_valid() and form.cleaned_data["q"].strip():
        query = form.cleaned_data["q"]
        people = post_search.search_accounts(query, limit=5)
        page = post_search.search_posts(request.user, query, before=_cursor(request))
    return render(
        request,
        "web/search.html",
        {"form": form, "page": page, "people": people, "query": query, "title": "Search"},
    )


@rate_limited("signup")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.sign_up(**form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, @{user.username}!")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form, "title": "Sign up"})


@login_required
def settings_profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(initial={"display_name": user.display_name, "bio": user.bio})
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            fields = {"display_name": form.cleaned_data["display_name"], "bio": form.cleaned_data["bio"]}
            if form.cleaned_data["avatar"]:
                fields["avatar"] = form.cleaned_data["avatar"]
            try:
                accounts.update_profile(user, **fields)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except ServiceUnavailable as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Profile saved.")
                return redirect("settings-profile")
    return render(request, "web/settings_profile.html", {"form": form, "title": "Profile settings"})


@login_required
def settings_tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST":
        if "revoke" in request.POST:
            try:
                accounts.revoke_access_token(request.user, int(request.POST["revoke"]))
            except ValueError:
                messages.error(request, "No such token.")
            else:
                messages.success(request, "Token revoked.")
            return redirect("settings-tokens")
        if form.is_valid():
            try:
                _, new_token = accounts.create_access_token(request.user, form.cleaned_data["name"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                form = TokenForm()
    tokens = AccessToken.objects.filter(user=request.user)
    return render(
        request,
        "web/settings_tokens.html",
        {"form": form, "tokens": tokens, "new_token": new_token, "title": "API tokens"},
    )


@login_required
def settings_apps(request: HttpRequest) -> HttpResponse:
    """The apps (Mastodon clients) holding a token for this account; revoking one is immediate."""
    from django.http import Http404

    from microblog.mastodon import applications

    if request.method == "POST":
        try:
            applications.revoke_app(request.user, int(request.POST.get("revoke", "")))
        except (ValueError, Http404):
            messages.error(request, "No such authorised app.")
        else:
            messages.success(request, "Access withdrawn: the app can no longer use your account.")
        return redirect("settings-apps")
    return render(
        request,
        "web/settings_apps.html",
        {"apps": applications.authorised_apps(request.user), "title": "Authorised apps"},
    )
