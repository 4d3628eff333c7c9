#!/usr/bin/env python3
"""Build a Holdfast release wheelhouse on the controller.

The hosts have no PyPI access (and real operators want reproducible, offline
releases), so the project and all of its dependencies are built here into
<out>/<version>/wheelhouse and shipped by the app role, which installs them with
`pip install --no-index --find-links`.

The release version is <package version>-<hash of the source>, so rebuilding an
unchanged checkout is a no-op and a re-deploy changes nothing. Prints one JSON
line: {"version", "package_version", "dir", "built"}.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

# Wheels the hosts need although the controller's resolver skips them: Debian 12
# ships Python 3.11.2 and redis-py wants async-timeout below 3.11.3.
TARGET_ONLY = ["async-timeout>=4.0.3"]

SKIP_DIRS = {"__pycache__", ".pytest_cache", "node_modules"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".sqlite3")


def source_files(src: Path, packages: list[str]) -> list[Path]:
    files = [src / "pyproject.toml"]
    for extra in ("manage.py", "README.md", "LICENSE", "setup.cfg", "MANIFEST.in"):
        if (src / extra).is_file():
            files.append(src / extra)
    for pkg in packages:
        root = src / pkg
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                if not name.endswith(SKIP_SUFFIXES):
                    files.append(Path(dirpath) / name)
    return files


def prune(build_dir: Path, keep: Path, count: int = 4) -> None:
    """Keep the `count` most recently used builds (about 90 MB each)."""
    builds = sorted(
        (d for d in build_dir.iterdir() if (d / ".complete").exists()),
        key=lambda d: (d / ".complete").stat().st_mtime,
        reverse=True,
    )
    for old in builds[count:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--version", default="")
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument(
        "--extra-index-url", default="", help="another index for pip (e.g. PyTorch's CPU-only wheels)"
    )
    args = ap.parse_args()

    src = Path(args.source).resolve()
    meta = tomllib.loads((src / "pyproject.toml").read_text())
    pkg_version = meta["project"]["version"]
    includes = (
        meta.get("tool", {}).get("setuptools", {}).get("packages", {}).get("find", {}).get("include", [])
    )
    packages = sorted(
        {p.rstrip("*").split(".")[0] for p in includes if (src / p.rstrip("*").split(".")[0]).is_dir()}
    )
    files = source_files(src, packages)

    digest = hashlib.sha256()
    for f in files:
        rel = f.relative_to(src).as_posix()
        digest.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    digest.update(" ".join(sorted(args.extra)).encode())
    version = args.version or f"{pkg_version}-{digest.hexdigest()[:10]}"

    out = Path(args.out).resolve() / version
    done = out / ".complete"
    result = {"version": version, "package_version": pkg_version, "dir": str(out), "built": False}
    if done.exists():
        os.utime(done)  # in use: keep it when pruning
        prune(out.parent, keep=out)
        print(json.dumps(result))
        return 0

    if out.exists():
        shutil.rmtree(out)
    (out / "wheelhouse").mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="holdfast-build-") as tmp:
        # Build from a clean copy: never litter the checkout with build/ or egg-info.
        for f in files:
            dest = Path(tmp) / f.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
        cmd = [
            args.python,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            *(["--extra-index-url", args.extra_index_url] if args.extra_index_url else []),
            "-w",
            str(out / "wheelhouse"),
            tmp,
            *args.extra,
            *TARGET_ONLY,
        ]
        proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr)
        if proc.returncode != 0:
            print(f"pip wheel failed ({proc.returncode}): {' '.join(cmd)}", file=sys.stderr)
            return proc.returncode
    # One archive ships faster than a directory of wheels (one transfer, one checksum).
    import tarfile

    with tarfile.open(out / "wheelhouse.tar", "w") as tar:
        for whl in sorted((out / "wheelhouse").iterdir()):
            tar.add(whl, arcname=whl.name)
    if (src / "manage.py").is_file():
        shutil.copy2(src / "manage.py", out / "manage.py")
    done.write_text(version + "\n")
    prune(out.parent, keep=out)
    result["built"] = True
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
