"""Image uploads: checked for type, size and dimensions, re-encoded to drop metadata."""

import io
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

from microblog.errors import ServiceUnavailable

from .models import Attachment

logger = logging.getLogger(__name__)


class FileTooLarge(ValidationError):
    """An upload over the size limit (the API answers 413, forms show the message)."""


FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}


@dataclass
class CheckedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def validate_image(upload: UploadedFile, field_name: str = "file") -> CheckedImage:
    """Return the image to store, re-encoded where possible, or raise ValidationError."""
    limit = settings.HOLDFAST_MAX_IMAGE_BYTES
    if upload.size is not None and upload.size > limit:
        raise FileTooLarge(
            {
                field_name: f"Images are at most {limit // (1024 * 1024)} MB; this one is "
                f"{upload.size / (1024 * 1024):.1f} MB."
            }
        )
    data = upload.read()
    if not data:
        raise ValidationError({field_name: "The file is empty."})
    Image.MAX_IMAGE_PIXELS = settings.HOLDFAST_MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            {field_name: "That file is not an image we can read (use JPEG, PNG, GIF or WebP)."}
        ) from None
    if image_format not in FORMATS:
        raise ValidationError(
            {field_name: f"{image_format} images are not accepted; use JPEG, PNG, GIF or WebP."}
        )
    if image.width * image.height > settings.HOLDFAST_MAX_IMAGE_PIXELS:
        raise ValidationError({field_name: "The image has too many pixels."})
    content_type, extension = FORMATS[image_format]
    if image_format == "GIF":  # re-encoding would drop the animation
        return CheckedImage(data, content_type, extension, image.width, image.height)
    # Re-encoding drops EXIF (camera, GPS position) that people rarely mean to publish.
    image = ImageOps.exif_transpose(image)
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format=image_format, quality=90)
    return CheckedImage(out.getvalue(), content_type, extension, image.width, image.height)


def store_attachment(owner, upload: UploadedFile, alt_text: str = "") -> Attachment:
    alt_text = (alt_text or "").strip()
    if len(alt_text) > 1500:
        raise ValidationError({"alt_text": "Alt text is at most 1500 characters."})
    image = validate_image(upload)
    attachment = Attachment(
        owner=owner,
        alt_text=alt_text,
        content_type=image.content_type,
        size=len(image.data),
        width=image.width,
        height=image.height,
    )
    try:
        attachment.file.save(f"upload.{image.extension}", ContentFile(image.data), save=False)
    except OSError as exc:
        logger.error("media storage failed: %s", exc)
        raise ServiceUnavailable("Media storage is unavailable right now; try again later.") from exc
    try:
        attachment.save()
    except Exception:
        attachment.file.delete(save=False)  # no orphan file for a row that was never written
        raise
    return attachment


def get_own_attachment(owner, attachment_id) -> Attachment:
    """One of the owner's uploads; anyone else's is as good as missing."""
    from django.http import Http404

    try:
        return Attachment.objects.get(pk=int(attachment_id), owner=owner)
    except (Attachment.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such media.") from None


def describe_attachment(owner, attachment_id, alt_text: str) -> Attachment:
    """Change an upload's alt text (the owner's own, attached to a post or not)."""
    attachment = get_own_attachment(owner, attachment_id)
    alt_text = (alt_text or "").strip()
    if len(alt_text) > 1500:
        raise ValidationError({"description": "Alt text is at most 1500 characters."})
    attachment.alt_text = alt_text
    attachment.save(update_fields=["alt_text"])
    return attachment
