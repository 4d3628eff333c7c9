"""The CSP middleware writes exactly the headers django-csp's own middleware would."""

import pytest
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from microblog.middleware import ContentSecurityPolicyMiddleware

HEADER = "Content-Security-Policy"
REPORT_ONLY = "Content-Security-Policy-Report-Only"


def _headers(middleware_class, path="/", prepare_response=None, use_nonce=False):
    request = RequestFactory().get(path)
    response = HttpResponse("ok")
    if prepare_response:
        prepare_response(response)
    middleware = middleware_class(lambda r: response)
    middleware.process_request(request)
    if use_nonce:
        str(request.csp_nonce)
    middleware.process_response(request, response)
    return {name: response.get(name) for name in (HEADER, REPORT_ONLY)}, request


def _same_as_django_csp(**kwargs):
    ours, _ = _headers(ContentSecurityPolicyMiddleware, **kwargs)
    theirs, _ = _headers(CSPMiddleware, **kwargs)
    assert ours == theirs
    return ours


def test_the_settings_policy_is_written_as_django_csp_writes_it():
    headers = _same_as_django_csp()
    assert "default-src 'self'" in headers[HEADER] and "frame-ancestors 'none'" in headers[HEADER]
    assert headers[REPORT_ONLY] is None


def test_a_changed_setting_changes_the_header(settings):
    _same_as_django_csp()  # the policy is now remembered
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {"default-src": ["'none'"]},
        "EXCLUDE_URL_PREFIXES": ["/legacy/"],
    }
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}
    headers = _same_as_django_csp()
    assert headers[HEADER] == "default-src 'none'"
    assert "img-src 'self'" in headers[REPORT_ONLY]
    assert _same_as_django_csp(path="/legacy/page")[HEADER] is None


@pytest.mark.parametrize(
    "prepare",
    [
        lambda r: setattr(r, "_csp_update", {"img-src": ["https://images.example"]}),
        lambda r: setattr(r, "_csp_replace", {"script-src": ["'none'"]}),
        lambda r: setattr(r, "_csp_exempt", True),
        lambda r: r.__setitem__(HEADER, "default-src https://set.by.view"),
    ],
    ids=["update", "replace", "exempt", "set by the view"],
)
def test_responses_that_change_the_policy_get_what_django_csp_gives(prepare):
    _same_as_django_csp(prepare_response=prepare)


def test_a_nonce_used_while_rendering_is_in_the_header(settings):
    from csp.constants import NONCE

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": ["'self'", NONCE]}}
    ours, request = _headers(ContentSecurityPolicyMiddleware, use_nonce=True)
    assert f"'nonce-{request._csp_nonce}'" in ours[HEADER]


def test_a_nonce_asked_for_after_the_header_is_written_is_an_error():
    from csp.exceptions import CSPNonceError

    _, request = _headers(ContentSecurityPolicyMiddleware)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
