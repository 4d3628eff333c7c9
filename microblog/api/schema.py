"""OpenAPI post-processing: document the JSON errors every operation can answer with."""

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


def add_error_responses(result: dict, generator, request, public) -> dict:
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, (description, schema) in ERRORS.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": schema}}}
                )
    return result
