"""/readyz and /metrics report the moderation second stage: switched off, eager (no broker),
or, through a broker that does not answer, why it is unknown. With a real broker and worker:
tests/moderation/test_queue.py::test_readyz_and_metrics_follow_the_deep_worker."""

import pytest

from moderation.ml import deep
from moderation.worker_status import DeepStatus, deep_status

needs_head = pytest.mark.skipif(not deep.head_exists(), reason="moderation/ml/artefacts/deep.npz is absent")


def scrape(client, settings) -> str:
    settings.HOLDFAST_METRICS_TOKEN = "scrape-token-123"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123")
    assert response.status_code == 200
    return response.content.decode()


def test_switched_off_is_reported_and_leaves_readiness_alone(client, db, settings):
    settings.CELERY_BROKER_URL = ""
    settings.HOLDFAST_MODERATION_DEEP = False
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["moderation_deep"] == "off"
    body = scrape(client, settings)
    assert "holdfast_moderation_deep_enabled 0.0" in body
    assert "holdfast_moderation_deep_workers" not in body


@needs_head
def test_switched_on_without_a_broker_runs_eagerly(client, db, settings):
    settings.CELERY_BROKER_URL = ""
    settings.HOLDFAST_MODERATION_DEEP = True
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["moderation_deep"] == "eager"
    assert "holdfast_moderation_deep_enabled 1.0" in scrape(client, settings)


@needs_head
def test_a_broker_that_is_down_is_named_not_waited_on(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.HOLDFAST_MODERATION_DEEP = True
    body = client.get("/readyz").json()
    assert body["broker"].startswith("unavailable")
    assert body["moderation_deep"] == body["broker"]


@needs_head
def test_the_answer_is_kept_for_its_time_to_live(settings):
    settings.CELERY_BROKER_URL = ""
    settings.HOLDFAST_MODERATION_DEEP = False
    assert deep_status(max_age=0) == DeepStatus("off")
    settings.HOLDFAST_MODERATION_DEEP = True
    assert deep_status(max_age=3600) == DeepStatus("off")  # kept: no new broadcast
    assert deep_status(max_age=0) == DeepStatus("eager")  # expired: asked again
