"""CPU cost of one request, measured in-process: the figure that survives a noisy machine.

``bench/timeline.py`` measures throughput through gunicorn and wrk, which swings with
whatever else the two cores are doing. This drives the same three requests (home timeline
API, home page, posting) through Django's WSGI handler in this process, against a bench
database that ``bench/timeline.py --seed-only`` made, and prints the web process's CPU per
request. With ``--instructions`` it runs itself twice under valgrind's callgrind and prints
instructions per request, ``(I(n2) - I(n1)) / (n2 - n1)``, which repeats to within a
percent or two even when the machine is busy.

    python bench/request_cost.py --size 100000
    python bench/request_cost.py --size 100000 --instructions     # needs valgrind
"""

import argparse
import io
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import timeline

KINDS = ("api", "page", "post")


def environ_for(kind: str, cred: dict, counter: int) -> dict:
    """The WSGI environ of what bench/timeline.py's wrk scripts send for ``kind``."""
    body = b""
    if kind == "page":
        method, path, credential = "GET", "/", {"HTTP_COOKIE": f"sessionid={cred['session']}"}
    else:
        credential = {"HTTP_AUTHORIZATION": f"Bearer {cred['token']}"}
        method, path = ("GET", "/api/v1/timelines/home") if kind == "api" else ("POST", "/api/v1/statuses")
    if kind == "post":
        body = json.dumps({"status": f"cost post {counter} #bench about the harbour"}).encode()
        credential |= {"CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body))}
    return {
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(timeline.PORT),
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        **credential,
    }


def drive(kinds: list[str], requests: int, creds: list[dict], rounds: int) -> None:
    """In the child: Django set up from the environment, then the requests; prints JSON."""
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.utils import timezone

    from microblog.accounts.models import AccessToken

    # Under load every token has been used within the minute, so none records its use
    # again; without this, the first request of each token here would write that.
    AccessToken.objects.update(last_used_at=timezone.now())
    handler = WSGIHandler()
    results = {}
    counter = 0

    def one(kind: str) -> None:
        nonlocal counter
        counter += 1
        status = []
        body = handler(
            environ_for(kind, creds[counter % len(creds)], counter),
            lambda s, h, exc_info=None: status.append(s),
        )
        b"".join(body)
        body.close()
        if not status[0].startswith(("200", "201")):
            sys.exit(f"bench: {kind} answered {status[0]}")

    if "post" in kinds:
        # Posts reach moderation through a Redis list; a task is published only when the
        # list crosses a batch boundary, and the first publish sets up Celery's broker
        # connection. Doing that here keeps it out of whichever round a boundary fell in.
        from moderation.tasks import moderate_posts

        moderate_posts.apply_async(args=[[]], queue="moderation")
    for kind in kinds:
        for _ in range(20):  # warm: connections, caches, templates, lazy imports
            one(kind)
        per_round = []
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(requests):
                one(kind)
            per_round.append(1000 * (time.process_time() - started) / requests)
        results[kind] = statistics.median(per_round)
    print("COST " + json.dumps(results))


def child_command(kinds: list[str], requests: int, rounds: int, creds_file: Path) -> list[str]:
    """This script again, as the process that sets Django up and drives the requests."""
    return [sys.executable, __file__, "--child", "--kinds", ",".join(kinds), "--requests",
            str(requests), "--rounds", str(rounds), "--creds", str(creds_file)]  # fmt: skip


def instructions(kinds: list[str], creds_file: Path, env: dict, low: int, high: int) -> dict:
    per_request = {}
    for kind in kinds:
        totals = []
        for count in (low, high):
            out = creds_file.parent / f"callgrind-{kind}-{count}.out"
            result = subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={out}",
                    *child_command([kind], count, 1, creds_file),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            match = re.search(r"Collected : (\d+)", result.stderr)
            out.unlink(missing_ok=True)
            if result.returncode != 0 or not match:
                sys.exit(f"bench: callgrind run failed:\n{result.stderr[-2000:]}")
            totals.append(int(match.group(1)))
        per_request[kind] = (totals[1] - totals[0]) / (high - low)
    return per_request


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100000, help="which bench database")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {KINDS}")
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is printed")
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--creds", help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    if unknown := set(kinds) - set(KINDS):
        sys.exit(f"bench: unknown kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    if args.child:
        drive(kinds, args.requests, json.loads(Path(args.creds).read_text()), args.rounds)
        return
    if timeline.seeded_posts(args.size) < args.size:
        sys.exit(
            f"bench: no seeded database for {args.size:,} posts; "
            f"run: python bench/timeline.py --sizes {args.size} --seed-only"
        )
    workdir = Path(tempfile.mkdtemp(prefix="holdfast-cost-"))
    env = {
        **timeline.bench_env(args.size, workdir / "static"),
        "DJANGO_SETTINGS_MODULE": "microblog.settings",
        "PYTHONPATH": str(timeline.ROOT),
    }
    timeline.sh(timeline.PYTHON, "manage.py", "collectstatic", "--noinput", "-v0", env=env)
    creds_file = workdir / "creds.json"
    creds_file.write_text(json.dumps(timeline.credentials(env)))
    if args.instructions:
        if not shutil.which("valgrind"):
            sys.exit("bench: valgrind is missing (apt-get install valgrind)")
        for kind, count in instructions(kinds, creds_file, env, 30, 90).items():
            print(f"  {kind:<5} {count / 1e6:8.2f} M instructions per request", flush=True)
        return
    result = subprocess.run(
        child_command(kinds, args.requests, args.rounds, creds_file),
        env=env,
        cwd=timeline.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"COST (.*)", result.stdout)
    if result.returncode != 0 or not match:
        sys.exit(f"bench: the measuring process failed:\n{result.stderr[-2000:]}")
    for kind, ms in json.loads(match.group(1)).items():
        print(
            f"  {kind:<5} {ms:6.2f} ms web CPU per request (median of {args.rounds} rounds "
            f"of {args.requests})",
            flush=True,
        )


if __name__ == "__main__":
    main()
