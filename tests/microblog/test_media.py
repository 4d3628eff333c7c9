import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from microblog.posts.media import FileTooLarge, store_attachment, validate_image
from tests.conftest import image_bytes


def test_valid_image_is_stored_without_metadata(alice):
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera make
    Image.new("RGB", (20, 10)).save(out, format="JPEG", exif=exif)
    media = store_attachment(alice, SimpleUploadedFile("a.jpg", out.getvalue()), "a black bar")
    assert (media.width, media.height, media.content_type) == (20, 10, "image/jpeg")
    with Image.open(media.file.path) as stored:
        assert "SecretCam" not in str(stored.getexif())


@pytest.mark.parametrize(
    "payload",
    [b"", b"GIF89a not really", b"<?php echo 1; ?>", b"%PDF-1.4\n", image_bytes()[:40]],
)
def test_fake_or_broken_images_are_rejected(payload):
    with pytest.raises(ValidationError):
        validate_image(SimpleUploadedFile("x.png", payload))


def test_oversized_image_is_rejected(settings):
    settings.HOLDFAST_MAX_IMAGE_BYTES = 100
    with pytest.raises(FileTooLarge):
        validate_image(SimpleUploadedFile("x.png", image_bytes(size=(200, 200))))


def test_decompression_bomb_is_rejected(settings):
    settings.HOLDFAST_MAX_IMAGE_PIXELS = 100
    with pytest.raises(ValidationError):
        validate_image(SimpleUploadedFile("x.png", image_bytes(size=(200, 200))))


def test_unwritable_storage_is_a_clear_error_and_stores_nothing(alice, settings, tmp_path, png_upload):
    from microblog.errors import ServiceUnavailable
    from microblog.posts.models import Attachment

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    settings.MEDIA_ROOT = str(locked / "media")
    (locked).chmod(0o500)
    import os

    if os.geteuid() == 0:
        # root ignores permission bits: make the media root a file instead, so writes fail.
        (tmp_path / "file-not-dir").write_text("x")
        settings.MEDIA_ROOT = str(tmp_path / "file-not-dir")
    with pytest.raises(ServiceUnavailable):
        store_attachment(alice, png_upload(), "")
    assert not Attachment.objects.exists()
