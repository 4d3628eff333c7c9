import json
import logging

from microblog.observability import RequestIdFilter, request_id_var


def test_security_headers(client, db):
    response = client.get("/public/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_login_brute_force_is_locked_out_with_429(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_web_signup_is_rate_limited(client, db, throttle_rates):
    throttle_rates(signup="2/hour")
    codes = [
        client.post("/accounts/signup/", {"username": f"x{i}", "password": "a long passphrase"}).status_code
        for i in range(3)
    ]
    client.logout()
    assert codes[:2] == [302, 302] and codes[2] == 429


def test_api_posting_is_rate_limited(api_as, alice, throttle_rates):
    throttle_rates(posting="3/min")
    client = api_as(alice)
    codes = [
        client.post("/api/v1/statuses", {"status": f"n{i}"}, format="json").status_code for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_request_id_is_echoed_and_generated(client, db):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abcdef123456")
    assert given["X-Request-ID"] == "abcdef123456"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert made["X-Request-ID"] != "bad id with spaces" and len(made["X-Request-ID"]) == 32


def test_logs_are_json_with_the_request_id():
    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("holdfast", logging.INFO, __file__, 1, "posted", None, None)
    token = request_id_var.set("req-12345678")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter("%(levelname)s %(name)s %(request_id)s %(message)s").format(record)
    assert json.loads(line)["request_id"] == "req-12345678"


def test_task_headers_carry_the_request_id():
    from microblog.observability import _add_request_id_to_task

    headers: dict = {}
    token = request_id_var.set("req-abcdefgh")
    try:
        _add_request_id_to_task(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers["request_id"] == "req-abcdefgh"


def test_metrics_are_protected(client, db, settings, alice, publish):
    publish(alice, "counted")
    assert client.get("/metrics").status_code == 401
    settings.HOLDFAST_METRICS_TOKEN = "scrape-token-123"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123")
    body = response.content.decode()
    assert response.status_code == 200
    assert "holdfast_moderation_queue_depth 0.0" in body
    assert 'holdfast_posts{state="allowed"} 1.0' in body
    assert "django_http_requests_total_by_method_total" in body
    assert 'holdfast_moderation_verdict_latency_seconds_bucket{le="1.0"}' in body
    assert "holdfast_moderation_verdicts_last_hour" in body


def test_readyz_reports_each_dependency(client, db, settings):
    settings.CELERY_BROKER_URL = ""  # the embedded default: tasks run in-process
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "stale_backlog": 0,
        "broker": "eager",
        "worker": "eager",
        "moderation_deep": "off",
    }


def test_cache_outage_fails_open(api_as, alice, settings):
    """With the Redis cache unreachable, throttled endpoints still answer (rate limits pause)."""
    settings.CACHES = {  # the settings fixture resets Django's cache handler
        "default": {
            "BACKEND": "microblog.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    client = api_as(alice)
    assert client.get("/api/v1/timelines/home").status_code == 200
    assert client.post("/api/v1/statuses", {"status": "cache down"}, format="json").status_code == 200


def test_readyz_is_not_ready_without_a_broker(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["broker"].startswith("unavailable")
