"""Generated requests — odd text, huge numbers, missing fields, every operation of the OpenAPI document — sent by
schemathesis to the hub served for real on the suite's database, with the tiny demo retailer in it: not one
may make the hub fail (5xx), and every answer must be the one the document describes. Bad input is the caller's
4xx, as problem+json."""

import asyncio
import re
import secrets
import subprocess
import sys
from pathlib import Path

from omnicanal.benchmarks.databases import TINY
from omnicanal.benchmarks.server import start_hub
from omnicanal.demo.seed import seed_demo

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# No 5xx; and every answer as documented: its status, content type (problem+json for errors), schema, headers.
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance")


async def test_no_generated_request_makes_the_hub_fail_or_answer_what_it_does_not_document(db, settings, tmp_path):
    await seed_demo(db, size=TINY)
    await db.dispose()  # the served hub has the database to itself
    token = secrets.token_urlsafe(16)
    hub = await asyncio.to_thread(start_hub, database_url=settings.database_url, admin_token=token, workers=1,
                                  workdir=tmp_path)
    try:
        # One worker: schemathesis's threads share CPython 3.11's parser, which is not safe across threads (now
        # and then "AST constructor recursion depth mismatch" inside schemathesis — never the hub).
        run = await asyncio.to_thread(
            subprocess.run,
            [str(SCHEMATHESIS), "run", f"{hub.base_url}/openapi.json", "-H", f"Authorization: Bearer {token}",
             "--checks", CHECKS, "--phases", "examples,coverage,fuzzing", "--max-examples", "30",
             "--seed", "20261205", "--workers", "1", "--no-color"],
            capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    finally:
        hub.stop()
    assert run.returncode == 0, run.stdout + hub.log_tail(6000)
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated and int(generated[1]) == int(generated[2]) >= 5000, run.stdout[-2000:]
