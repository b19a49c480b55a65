"""The README's "Try it" command, run in an empty directory, so that the README cannot rot.

The command is read from README.md. Its install steps (``python3 -m venv``, ``pip install``)
are this checkout's own ``.venv``; the ``carebot`` steps run as written, with only a free port
and ``--exit-after-start`` added to the last one.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from bot.config import Settings
from bot.demo.data import DEMO_ADMIN_EMAIL, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CAREBOT = Path(sys.executable).with_name("carebot")
TIMEOUT = 120


def readme_command() -> list[list[str]]:
    """The one-line command of README's "Try it", split into its ``&&`` steps."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.+?)\n```", section, re.DOTALL)
    assert block is not None, "README 'Try it' has no ```sh block"
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 1, "the Try it command is one line"
    return [shlex.split(step) for step in lines[0].split("&&")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment() -> dict[str, str]:
    """The test process's environment without any carebot setting (a fresh machine)."""
    settings = {info.alias for info in Settings.model_fields.values()}
    return {k: v for k, v in os.environ.items() if k not in settings}


def test_readme_command_runs_in_an_empty_directory(tmp_path: Path) -> None:
    steps = readme_command()
    assert steps[0][:3] == ["python3", "-m", "venv"] and steps[1][-2:] == ["-e", "."]
    carebot_steps = [step for step in steps if step[0] == ".venv/bin/carebot"]
    assert [step[1:] for step in carebot_steps] == [["db", "upgrade"], ["serve", "--demo"]]
    port = str(free_port())
    outputs = []
    for index, step in enumerate(carebot_steps):
        args = [str(CAREBOT), *step[1:]]
        if index == len(carebot_steps) - 1:
            args += ["--port", port, "--exit-after-start"]
        done = subprocess.run(
            args,
            cwd=tmp_path,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"{shlex.join(step)}:\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    serve = outputs[-1]
    assert "demo data loaded: 5 care-team members, 20 sandbox patients" in serve
    assert f"http://127.0.0.1:{port}/sandbox" in serve
    assert f"{DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD}" in serve
    assert "health check passed" in serve
    assert (tmp_path / "var" / "carebot.db").is_file()
