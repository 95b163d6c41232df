"""`layoutgen init` and the pre-commit hooks: the files init writes, its refusal to overwrite,
the hooks file's shape, and the hooks' entry commands run in a project init made."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys

import yaml

from codegen import init
from codegen.tools import schema
from conftest import ROOT

HOOK_IDS = {"layoutgen-generate", "lint-ifchange"}
LANGUAGES = {"python", "system"}


def cli(cwd, *args):
    return subprocess.run([sys.executable, "-m", "codegen", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT))


def test_init_writes_a_starter_project_into_a_new_folder(tmp_path):
    result = cli(tmp_path, "init", "proj")
    assert result.returncode == 0, result.stderr
    made = tmp_path / "proj"
    assert sorted(str(p.relative_to(made)) for p in made.rglob("*")) == sorted(
        [".pre-commit-config.yaml", "layoutgen.toml", "spec", "spec/layoutgen.schema.json", "spec/myabi.yaml"])
    spec = (made / "spec" / "myabi.yaml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=layoutgen.schema.json\n")
    assert (made / "spec" / "layoutgen.schema.json").read_text() == schema.render()
    assert "c_type: struct timespec, include: time.h" in spec
    assert "next: cd proj && layoutgen generate" in result.stderr
    generated = cli(made, "generate")
    assert generated.returncode == 0, generated.stderr
    assert (made / "generated" / "go" / "myabi" / "go.mod").read_text().count("module example.com/myabi") == 1


def test_init_refuses_to_overwrite_anything(tmp_path):
    for existing in init.FILES:
        folder = tmp_path / existing.replace("/", "_")
        (folder / os.path.dirname(existing)).mkdir(parents=True, exist_ok=True)
        (folder / existing).write_text("mine")
        result = cli(folder, "init")
        assert result.returncode == 2 and f"{os.path.join('.', existing)}: already exists" in result.stderr, result.stderr
        assert (folder / existing).read_text() == "mine"
        assert [p for p in folder.rglob("*") if p.is_file()] == [folder / existing], "init wrote nothing else"


def test_init_in_an_existing_empty_folder(tmp_path):
    assert cli(tmp_path, "init").returncode == 0 and (tmp_path / "layoutgen.toml").is_file()


def hooks_file() -> list:
    return yaml.safe_load(open(os.path.join(ROOT, ".pre-commit-hooks.yaml")))


def test_the_hooks_file_has_the_shape_pre_commit_reads():
    hooks = hooks_file()
    assert isinstance(hooks, list) and {hook["id"] for hook in hooks} == HOOK_IDS
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= set(hook), hook
        assert hook["language"] in LANGUAGES and hook["pass_filenames"] is False
        assert shlex.split(hook["entry"])[0] == "layoutgen", "the console script pip installs"
    for config in (os.path.join(ROOT, ".pre-commit-config.yaml"), os.path.join(ROOT, "codegen", "starter", "pre-commit-config.yaml")):
        local = yaml.safe_load(open(config))["repos"][0]["hooks"]
        assert {hook["id"] for hook in local} == HOOK_IDS, config


def git(cwd, *args):
    result = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_hook(cwd, hook) -> subprocess.CompletedProcess:
    """A hook's entry as pre-commit runs it, `layoutgen` being this checkout's CLI."""
    words = shlex.split(hook["entry"])
    return cli(cwd, *words[1:])


def test_the_hooks_pass_on_a_clean_project_and_catch_a_spec_edited_without_regenerating(tmp_path):
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "generate").returncode == 0
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "start")
    hooks = {hook["id"]: hook for hook in hooks_file()}
    for hook in hooks.values():
        result = run_hook(tmp_path, hook)
        assert result.returncode == 0, (hook["id"], result.stdout, result.stderr)
    assert git(tmp_path, "status", "--porcelain") == "", "the hooks change nothing on a clean project"
    spec = tmp_path / "spec" / "myabi.yaml"
    spec.write_text(spec.read_text().replace("Whole seconds (time_t).", "Seconds."))
    git(tmp_path, "add", "-A")
    assert run_hook(tmp_path, hooks["layoutgen-generate"]).returncode == 0
    changed = git(tmp_path, "status", "--porcelain")
    assert " generated/c/myabi.h" in changed, "pre-commit fails a hook that changed files"
