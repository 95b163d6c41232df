"""Throw-away git repositories for exercising the pairing-comment checker.

File contents given to :meth:`LintRepo.write` may spell the two markers as
``@IF`` and ``@THEN``; they are expanded before the file is written.  That
keeps this test code free of real markers, so running the checker over the
layoutgen tree itself does not trip over its own fixtures.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Union

IF = "LINT." "IfChange"
THEN = "LINT." "ThenChange"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def expand(text: str) -> str:
    return text.replace("@IF", IF).replace("@THEN", THEN)


class Result:
    def __init__(self, code: int, out: str, err: str):
        self.code = code
        self.out = out
        self.err = err

    @property
    def lines(self) -> List[str]:
        return self.out.splitlines()

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


class LintRepo:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")
        self.git("config", "user.name", "Lint Tester")
        self.git("config", "user.email", "lint@example.invalid")
        self.git("config", "core.autocrlf", "false")
        self.git("config", "commit.gpgsign", "false")

    # -- files ---------------------------------------------------------
    def write(self, rel: str, content: Union[str, bytes], crlf: bool = False) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            text = expand(content)
            if crlf:
                text = text.replace("\n", "\r\n")
            data = text.encode("utf-8")
        else:
            data = content
        target.write_bytes(data)
        return target

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text(encoding="utf-8")

    def replace(self, rel: str, old: str, new: str) -> None:
        text = self.read(rel)
        old, new = expand(old), expand(new)
        assert old in text, f"{old!r} not in {rel}"
        (self.path / rel).write_text(text.replace(old, new, 1), encoding="utf-8")

    # -- git -----------------------------------------------------------
    def git(self, *args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=self.path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
        return proc.stdout.decode()

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    # -- running the checker -------------------------------------------
    def lint(self, *argv: str) -> Result:
        """Run the checker in-process against this repository."""
        import argparse

        from codegen.lint import ifchange

        parser = argparse.ArgumentParser()
        ifchange.add_arguments(parser)
        args = parser.parse_args(["--root", str(self.path), *argv])
        out, err = io.StringIO(), io.StringIO()
        code = ifchange.run(args, out=out, err=err)
        return Result(code, out.getvalue(), err.getvalue())

    def lint_process(self, *argv: str, env: Optional[dict] = None) -> Result:
        """Run ``python -m codegen.lint.ifchange`` inside this repository."""
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(PROJECT_ROOT)] + ([full_env["PYTHONPATH"]] if full_env.get("PYTHONPATH") else []))
        if env:
            full_env.update(env)
        proc = subprocess.run([sys.executable, "-m", "codegen.lint.ifchange", *argv],
                              cwd=self.path, env=full_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def pair(repo: LintRepo, a: str = "a.c", b: str = "b.h",
         a_target: str = "b.h", b_target: str = "a.c") -> None:
    """Two files that point at each other with one unlabelled block each.

    In ``a`` the block spans lines 2-4 (marker, body, marker); in ``b`` it
    spans lines 1-3.
    """
    repo.write(a, f"int a0;\n// @IF\nint a1;\n// @THEN({a_target})\nint a2;\n")
    repo.write(b, f"// @IF\nint b1;\n// @THEN({b_target})\nint b2;\n")

