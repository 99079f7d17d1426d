"""``make package``: the one artifact that is deployed and that the tests exercise.

Chalice's own packager builds it, so that API Gateway's resources match the app's routes and
the dependencies are built for Lambda's platform (manylinux wheels for CPython 3.11 on
x86_64, checked against the runtime's glibc) by construction:

    chalice package --pkg-format cloudformation --merge-template infra/build/merge.json

then this module adds the non-API entry points (``functions/``) to the same zip (Chalice
packages ``app.py`` and ``chalicelib/`` only) and applies ``infra.template.finish``.
Output, in ``infra/build/``: ``template.json`` (CloudFormation JSON with the SAM transform)
and ``deployment.zip``, which every function's ``CodeUri`` names relative to it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from infra.template import finish, merge_template

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "infra" / "build"
STAGE = "prod"
EXTRA_SOURCES = ("functions",)


def _chalice() -> str:
    found = shutil.which("chalice", path=str(Path(sys.executable).parent)) or shutil.which("chalice")
    if not found:
        raise SystemExit("chalice is not installed (make package installs the dev requirements)")
    return found


def _add_sources(archive: Path) -> None:
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as zf:
        present = set(zf.namelist())
        for source in EXTRA_SOURCES:
            for path in sorted((ROOT / source).rglob("*.py")):
                name = path.relative_to(ROOT).as_posix()
                if "__pycache__" in path.parts or name in present:
                    continue
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())


def _add_assets(archive: Path) -> None:
    """Swagger UI's two files for the /docs page, from the swagger-ui-py registry package (a
    build dependency): into the artifact, so that the page loads nothing from elsewhere."""
    from chalicelib.adapters.assets import installed_dir
    from chalicelib.domain.openapi import SWAGGER_ASSETS

    source = installed_dir()
    if source is None:
        raise SystemExit("swagger-ui-py is not installed (make package installs the dev requirements)")
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as zf:
        for name in SWAGGER_ASSETS:
            info = zipfile.ZipInfo(f"chalicelib/static/swagger-ui/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, (source / name).read_bytes())


def code_uris(template: dict[str, Any]) -> set[str]:
    return {
        str(r["Properties"]["CodeUri"])
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::Serverless::Function"
    }


def package(out: Path = BUILD) -> Path:
    """Build ``template.json`` and ``deployment.zip`` into ``out``; returns the template."""
    out.mkdir(parents=True, exist_ok=True)
    merge = out / "merge.json"
    merge.write_text(json.dumps(merge_template(), indent=2) + "\n")
    env = dict(os.environ)
    # Chalice imports app.py to read its routes; the app reads its settings at import.
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("MAILPROXY_ENCRYPTION_KEY", "packaging-only")
    with tempfile.TemporaryDirectory(prefix="mailproxy-package-") as tmp:
        subprocess.run(
            [
                _chalice(),
                "package",
                "--stage",
                STAGE,
                "--pkg-format",
                "cloudformation",
                "--template-format",
                "json",
                "--merge-template",
                str(merge),
                tmp,
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )
        template = finish(json.loads((Path(tmp) / "sam.json").read_text()))
        archive = out / "deployment.zip"
        shutil.copyfile(Path(tmp) / "deployment.zip", archive)
    _add_sources(archive)
    _add_assets(archive)
    for uri in code_uris(template):
        if not (out / uri).is_file():
            raise SystemExit(f"template names {uri}, which the package step did not write")
    path = out / "template.json"
    path.write_text(json.dumps(template, indent=2) + "\n")
    return path


def main() -> int:
    print(package(Path(sys.argv[1]) if len(sys.argv) > 1 else BUILD))
    return 0


if __name__ == "__main__":
    sys.exit(main())
