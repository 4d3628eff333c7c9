from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from microblog.posts.models import Visibility


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service-layer ValidationError on the form fields it names."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message.messages if hasattr(message, "messages") else message)
    else:
        form.add_error(None, error)


class PostForm(forms.Form):
    text = forms.CharField(
        label="What's happening?",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        strip=False,
    )
    content_warning = forms.CharField(label="Content warning (optional)", max_length=200, required=False)
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PUBLIC)
    image = forms.FileField(label="Image (optional)", required=False)
    alt_text = forms.CharField(label="Image description (alt text)", max_length=1500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].widget.attrs["maxlength"] = settings.HOLDFAST_POST_MAX_LENGTH
        self.fields["image"].widget.attrs["accept"] = "image/jpeg,image/png,image/gif,image/webp"


class EditPostForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, strip=False)
    content_warning = forms.CharField(label="Content warning (optional)", max_length=200, required=False)


class SignupForm(forms.Form):
    username = forms.CharField(max_length=30, help_text="1 to 30 letters, digits or underscores.")
    email = forms.EmailField(required=False, help_text="Only used to reset your password.")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=50, required=False)
    bio = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=500, required=False)
    avatar = forms.FileField(required=False, help_text="JPEG, PNG, GIF or WebP, up to 8 MB.")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use this token, e.g. 'my phone app'.")


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=200, required=False)
