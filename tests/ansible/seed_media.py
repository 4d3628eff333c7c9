"""Attach small generated images to existing posts (run inside `manage.py shell`).

Used by the deployment tests and bench/move_host.py, since `manage.py seed`
creates text only. Reads HOLDFAST_MEDIA_COUNT (default 20) and
HOLDFAST_MEDIA_SEED (default 1) from the environment; files go under MEDIA_ROOT
through Django's storage, rows into posts_attachment.
"""

import io
import os
import random

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image

from microblog.posts.models import Attachment, Post

count = int(os.environ.get("HOLDFAST_MEDIA_COUNT", "20"))
seed = int(os.environ.get("HOLDFAST_MEDIA_SEED", "1"))
rng = random.Random(seed)
post_ids = list(Post.objects.order_by("-id").values_list("id", "author_id")[: max(count * 4, 100)])
if not post_ids:
    raise SystemExit("no posts to attach media to; seed posts first")
made = 0
with transaction.atomic():
    for i in range(count):
        post_id, author_id = rng.choice(post_ids)
        w, h = rng.randint(16, 64), rng.randint(16, 64)
        img = Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        for _ in range(8):
            x, y = rng.randrange(w), rng.randrange(h)
            img.putpixel((x, y), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        data = buf.getvalue()
        att = Attachment(
            owner_id=author_id,
            post_id=post_id,
            alt_text=f"seeded image {seed}-{i}",
            width=w,
            height=h,
            content_type="image/png",
            size=len(data),
        )
        att.file.save(f"seed-{seed}-{i}.png", ContentFile(data), save=True)
        made += 1
print(f"SEEDED_MEDIA {made}")
