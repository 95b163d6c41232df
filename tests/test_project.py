"""The project file: `generate`/`check` with no arguments, what a project entry sets in the
outputs (Go module path, banners, targets), its grammar, and the CLI's --version, -q and -v."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from codegen import project
from conftest import ROOT, run_cli

STARTER = os.path.join(ROOT, "codegen", "starter", "spec.yaml")


def cli(cwd, *args):
    """The CLI of this checkout, run in `cwd` (which may be outside the repository)."""
    return subprocess.run([sys.executable, "-m", "codegen", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT))


def make_project(folder, entry: str = "", name: str = "abi"):
    (folder / "spec").mkdir(parents=True, exist_ok=True)
    (folder / "spec" / f"{name}.yaml").write_text(open(STARTER).read().replace("name: myabi", f"name: {name}"))
    (folder / "layoutgen.toml").write_text(f'[[spec]]\npath = "spec/{name}.yaml"\nout = "out"\n{entry}')
    return folder


def test_generate_without_arguments_does_the_project_from_a_subfolder(tmp_path):
    make_project(tmp_path, 'go_module = "example.com/team/abi"\n')
    (tmp_path / "deep" / "er").mkdir(parents=True)
    result = cli(tmp_path / "deep" / "er", "generate")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "go" / "abi" / "go.mod").read_text().splitlines()[4] == "module example.com/team/abi"


def test_without_a_project_file_or_spec_the_message_says_how_to_start(tmp_path):
    for command in ("generate", "check", "layout"):
        result = cli(tmp_path, command)
        assert result.returncode == 2, result
        assert "no layoutgen.toml in" in result.stderr and "layoutgen init" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and not os.listdir(tmp_path)


def test_spec_alone_and_the_project_form_write_the_same_bytes(tmp_path):
    make_project(tmp_path, 'python_package = "team-abi"\n')
    assert cli(tmp_path, "generate").returncode == 0
    assert cli(tmp_path, "generate", "--spec", "spec/abi.yaml", "--out", "again").returncode == 0
    for folder, _, names in os.walk(tmp_path / "out"):
        for name in names:
            path = os.path.join(folder, name)
            other = path.replace(str(tmp_path / "out"), str(tmp_path / "again"))
            assert open(path, "rb").read() == open(other, "rb").read(), path
    assert 'name = "team-abi"' in (tmp_path / "out" / "python" / "pyproject.toml").read_text()


def test_banners_give_the_command_of_that_project_never_make(tmp_path):
    make_project(tmp_path / "with")
    assert cli(tmp_path / "with", "generate").returncode == 0
    header = (tmp_path / "with" / "out" / "c" / "abi.h").read_text()
    assert "Regenerate with: layoutgen generate  (in the folder of the layoutgen.toml that lists spec/abi.yaml)" in header
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "abi.yaml").write_text(open(STARTER).read())
    assert cli(tmp_path / "alone", "generate", "--spec", "abi.yaml", "--out", "gen").returncode == 0
    for folder, _, names in os.walk(tmp_path / "alone" / "gen"):
        for name in names:
            text = open(os.path.join(folder, name), encoding="utf-8", errors="replace").read()[:600]
            assert "make " not in text, name
            if name.endswith((".h", ".py", ".go", ".toml")) and not name.endswith("go.mod"):
                assert "Regenerate with: layoutgen generate --spec abi.yaml --out gen" in text, name


def test_this_repository_lists_sysmsg_and_every_corpus_spec():
    listed = project.load(os.path.join(ROOT, project.FILE))
    specs = {os.path.relpath(e.spec, ROOT) for e in listed.entries}
    corpus = {os.path.join("examples", "linux", n) for n in os.listdir(os.path.join(ROOT, "examples", "linux"))
              if n.endswith(".yaml")}
    assert specs == {os.path.join("spec", "sysmsg.yaml")} | corpus
    sysmsg = listed.entry(os.path.join(ROOT, "spec", "sysmsg.yaml"))
    assert sysmsg.go_module == "layoutgen.example/generated/sysmsg" and sysmsg.out == os.path.join(ROOT, "generated")
    for entry in listed.entries:
        assert os.path.isdir(entry.out), f"{entry.out}: run `make generate` (outputs are committed)"
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    assert "-m codegen generate\n" in makefile and "-m codegen check\n" in makefile


def test_project_targets_narrow_the_spec(tmp_path):
    make_project(tmp_path, 'targets = ["c", "python"]\n')
    assert cli(tmp_path, "generate").returncode == 0
    assert sorted(os.listdir(tmp_path / "out")) == [".layoutgen-manifest", "c", "docs", "python"]
    (tmp_path / "spec" / "abi.yaml").write_text(open(STARTER).read().replace("archs:", "targets: [c]\narchs:"))
    result = cli(tmp_path, "generate")
    assert result.returncode == 2 and re.match(r"layoutgen\.toml:4:1: spec/abi\.yaml: targets python not in", result.stderr)


BAD = [
    ('colour = "red"\n', r"layoutgen\.toml:4:1: \[\[spec\]\] 'colour' is not a project key \(hint: allowed keys: path, out"),
    ('go_module = "Example.com/x"\n', r"layoutgen\.toml:4:1: go_module 'Example\.com/x' is not valid \(hint: Go's module path"),
    ('go_module = "examplecom/x"\n', r"layoutgen\.toml:4:1: go_module 'examplecom/x' is not valid"),
    ('go_module = "example.com/x\\n"\n', r"layoutgen\.toml:4:1: go_module 'example\.com/x\\n' is not valid"),
    ('python_package = "a b"\n', r"layoutgen\.toml:4:1: python_package 'a b' is not valid \(hint: letters"),
    ('targets = ["rust"]\n', r"layoutgen\.toml:4:1: targets \['rust'\] is not a list of distinct targets"),
    ('consumers = ["../src"]\n', r"layoutgen\.toml:4:1: consumers '\.\./src' is not a path below the project folder"),
    ('[[spec]]\npath = "spec/abi.yaml"\nout = "x"\n', r"layoutgen\.toml:5:1: spec/abi\.yaml is listed twice"),
    ('[[spec]]\npath = "other.yaml"\nout = "out/inner"\n', r"layoutgen\.toml:6:1: this output folder overlaps"),
    ("out = 3\n", r"layoutgen\.toml:4:8: not valid TOML: Cannot overwrite a value"),
    ("[tool]\n", r"layoutgen\.toml:4:1: unknown key 'tool' \(hint: a project file holds \[\[spec\]\] tables only\)"),
]


@pytest.mark.parametrize("extra, message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_project_files_are_one_line_errors(tmp_path, extra, message):
    make_project(tmp_path, extra)
    for args in (("generate",), ("generate", "--spec", "spec/abi.yaml")):
        result = cli(tmp_path, *args)
        assert result.returncode == 2, result.stderr
        assert re.match(message, result.stderr), result.stderr
        assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_absolute_and_parent_paths_are_refused(tmp_path):
    for bad in ("/etc/abi.yaml", "../abi.yaml", "spec/../abi.yaml", "./abi.yaml", "-abi.yaml"):
        (tmp_path / "layoutgen.toml").write_text(f'[[spec]]\npath = "{bad}"\nout = "out"\n')
        result = cli(tmp_path, "generate")
        assert result.returncode == 2 and "layoutgen.toml:2:1: path" in result.stderr, (bad, result.stderr)


def test_spec_version_is_the_python_package_version_and_has_a_grammar(tmp_path):
    make_project(tmp_path)
    assert cli(tmp_path, "generate").returncode == 0
    assert 'version = "0.1.0"' in (tmp_path / "out" / "python" / "pyproject.toml").read_text()
    spec = tmp_path / "spec" / "abi.yaml"
    for bad, col in (("version: 1.2", 10), ('version: "1.2; rm -rf"', 10), ('version: "v1"', 10)):
        spec.write_text(open(STARTER).read().replace('version: "0.1.0"', bad))
        result = cli(tmp_path, "generate")
        assert result.returncode == 2 and re.match(rf"spec/abi\.yaml:8:{col}: version .* is not a package version", result.stderr), result.stderr


def test_version_quiet_and_verbose(tmp_path):
    result = run_cli("--version")
    assert result.returncode == 0 and re.fullmatch(r"layoutgen (\d+\.\d+\.\d+|\(not installed\))\n", result.stdout)
    make_project(tmp_path)
    quiet = cli(tmp_path, "generate", "-q")
    assert quiet.returncode == 0 and quiet.stdout == quiet.stderr == ""
    verbose = cli(tmp_path, "-v", "generate")
    assert "spec/abi.yaml: loaded, resolved and laid out in" in verbose.stderr
    assert re.search(r"wrote \d+ files to out", verbose.stderr)
    normal = cli(tmp_path, "generate")
    assert re.fullmatch(r"layoutgen: wrote \d+ files to out\n", normal.stderr)
