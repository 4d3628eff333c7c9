"""OpenAPI post-processing: document the JSON errors every operation can answer with:
Mastodon's ``{"error": …}`` on Mastodon's paths, ``detail`` or field errors under /api/holdfast/."""

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Field name → list of messages (`non_field_errors` for the whole request), "
    "or `detail` for a request that could not be parsed.",
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}, {"type": "object"}]
    },
}
ERRORS = {
    "400": ("Bad input: field errors.", FIELD_ERRORS),
    "401": ("Not authenticated, or the token is not valid.", DETAIL),
    "403": ("Not allowed.", DETAIL),
    "404": ("No such object, or not visible to you.", DETAIL),
    "405": ("Method not allowed.", DETAIL),
    "406": ("Cannot answer in the requested format.", DETAIL),
    "413": ("Request or upload too large.", FIELD_ERRORS),
    "415": ("Unsupported media type.", DETAIL),
    "429": ("Too many requests; see the Retry-After header.", DETAIL),
    "503": ("Temporarily unavailable (database or storage); see Retry-After.", DETAIL),
}


MASTODON_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "details": {"type": "object"}},
    "required": ["error"],
}
MASTODON_ERRORS = {
    "400": ("The request could not be parsed.", MASTODON_ERROR),
    "401": ("No token, or the token is not valid.", MASTODON_ERROR),
    "403": ("Outside the token's scopes, or not allowed.", MASTODON_ERROR),
    "404": ("Record not found (or not visible to you).", MASTODON_ERROR),
    "405": ("Method not allowed.", MASTODON_ERROR),
    "406": ("Cannot answer in the requested format.", MASTODON_ERROR),
    "413": ("Request or upload too large.", MASTODON_ERROR),
    "415": ("Unsupported media type.", MASTODON_ERROR),
    "422": ("Validation failed.", MASTODON_ERROR),
    "429": ("Too many requests; see the Retry-After header.", MASTODON_ERROR),
    "503": ("Temporarily unavailable (database or storage); see Retry-After.", MASTODON_ERROR),
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    for path, path_item in result.get("paths", {}).items():
        errors = ERRORS if path.startswith("/api/holdfast/") else MASTODON_ERRORS
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, (description, schema) in errors.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": schema}}}
                )
    return result
