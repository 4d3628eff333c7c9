"""Media uploads and their alt text."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from microblog.posts import media

from .. import entities, params, schema
from ..base import MastodonView

TAGS = ["media"]
UPLOAD = {
    "multipart/form-data": {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "description": {"type": "string", "maxLength": 1500},
        },
        "required": ["file"],
    }
}


class MediaUploadView(MastodonView):
    required_scopes = {"POST": "write:media"}
    throttle_scope = "posting"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=UPLOAD, responses=schema.ok(schema.MEDIA), tags=TAGS)
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "must be an image file"})
        attachment = media.store_attachment(
            request.user, upload, params.text(request.data, "description", max_length=1500) or ""
        )
        # Images are ready at once, so v2 answers 200 as v1 does (not 202 "processing").
        return Response(entities.media_attachment(attachment, self.context()))


class MediaView(MastodonView):
    required_scopes = {"GET": "write:media", "PUT": "write:media"}
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(responses=schema.ok(schema.MEDIA), tags=TAGS)
    def get(self, request: Request, media_id: str) -> Response:
        attachment = media.get_own_attachment(request.user, media_id)
        return Response(entities.media_attachment(attachment, self.context()))

    @extend_schema(
        request={"application/json": {"type": "object", "properties": {"description": {"type": "string"}}}},
        responses=schema.ok(schema.MEDIA),
        tags=TAGS,
    )
    def put(self, request: Request, media_id: str) -> Response:
        attachment = media.describe_attachment(
            request.user, media_id, params.text(request.data, "description", max_length=1500) or ""
        )
        return Response(entities.media_attachment(attachment, self.context()))
