"""Output ownership and disk failures: layoutgen replaces only what it wrote, runs into one folder
take turns, and a failing disk is a one-line exit 2 that leaves nothing behind.

Every test drives the real CLI. Read-only and full disks are real: a read-only bind mount or a
tiny tmpfs inside a private mount namespace (`unshare -m`), or a real RLIMIT_FSIZE.
"""
import fcntl
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from codegen.check import drift
from codegen.ownership import HEADER, MANIFEST
from conftest import GENERATED, ROOT, SPEC, run_cli

OTHER_SPEC = os.path.join(ROOT, "examples", "linux", "stat.yaml")


def snapshot(folder) -> dict:
    """Every file under `folder`, manifests included, path -> sha256."""
    found = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, folder)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return found


def assert_manifest_matches(folder):
    """The manifest lists exactly the files in the folder, with their hashes."""
    lines = open(os.path.join(folder, MANIFEST)).read().splitlines()
    assert lines[0] == HEADER
    listed = {path: digest for digest, path in (line.split(" ", 1) for line in lines[1:])}
    on_disk = snapshot(folder)
    del on_disk[MANIFEST]
    assert listed == on_disk


def assert_parent_clean(out):
    """No hidden staging (or kept) sibling is left next to the output folder."""
    parent, base = os.path.split(str(out))
    assert [n for n in os.listdir(parent) if n.startswith(f".{base}.")] == []


def assert_one_complete_set(folder):
    assert_manifest_matches(folder)
    assert_parent_clean(folder)


def refused(result, folder, offender):
    """Exit 2 with one line that names the folder, the offending entry and a hint."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(folder) in lines[0] and offender in lines[0] and "hint:" in lines[0], lines[0]
    assert "internal error" not in lines[0] and "Traceback" not in result.stderr


def generate(out, spec=SPEC, **kwargs):
    return run_cli("generate", "--spec", str(spec), "--out", str(out), **kwargs)


@pytest.fixture
def made(tmp_path):
    """A folder generate wrote, from the main spec."""
    out = tmp_path / "gen"
    assert generate(out).returncode == 0
    return out


# ---- the manifest ----------------------------------------------------------------------------


def test_manifest_lists_every_file_with_its_hash_sorted_and_deterministic(made, tmp_path):
    assert_one_complete_set(made)
    text = (made / MANIFEST).read_text()
    paths = [line.split(" ", 1)[1] for line in text.splitlines()[1:]]
    assert paths == sorted(paths) and "c/sysmsg.h" in paths and MANIFEST not in paths
    assert generate(tmp_path / "again").returncode == 0
    assert (tmp_path / "again" / MANIFEST).read_text() == text


def test_committed_output_carries_its_manifest():
    assert_one_complete_set(GENERATED)


def test_regenerating_a_folder_replaces_the_set_and_its_manifest(made):
    assert generate(made, OTHER_SPEC).returncode == 0
    assert_one_complete_set(made)
    assert not (made / "c" / "sysmsg.h").exists() and (made / "c" / "linux_stat.h").exists()


def test_python_bytecode_caches_do_not_block_regeneration(made):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    imported = subprocess.run([sys.executable, "-c", "import sysmsg.amd64"], cwd=made / "python",
                              capture_output=True, text=True, env=env)
    assert imported.returncode == 0, imported.stderr
    assert list((made / "python" / "sysmsg" / "__pycache__").glob("*.pyc"))
    assert generate(made).returncode == 0
    assert_one_complete_set(made)


def test_docs_command_inside_an_output_folder_leaves_it_regenerable(made):
    assert run_cli("docs", "--out", str(made / "docs")).returncode == 0
    assert (made / "docs" / MANIFEST).exists()
    assert generate(made).returncode == 0
    assert_one_complete_set(made)


# ---- refusals: files that are not layoutgen's ---------------------------------------------------


def test_a_file_not_in_the_manifest_is_refused_and_nothing_changes(made):
    (made / "c" / "notes.txt").write_text("mine")
    before = snapshot(made)
    refused(generate(made, OTHER_SPEC), made, "c/notes.txt")
    assert snapshot(made) == before
    assert_parent_clean(made)


def test_an_empty_folder_not_in_the_manifest_is_refused(made):
    (made / "mine").mkdir()
    refused(generate(made), made, "mine")
    assert (made / "mine").is_dir()


def test_a_folder_without_manifest_that_holds_other_files_is_refused(tmp_path):
    out = tmp_path / "project"
    out.mkdir()
    (out / "main.c").write_text("int main(void) { return 0; }\n")
    refused(generate(out), out, "main.c")
    assert os.listdir(out) == ["main.c"]
    assert_parent_clean(out)


def test_a_folder_made_before_manifests_is_accepted_once(made):
    (made / MANIFEST).unlink()
    assert generate(made).returncode == 0
    assert_one_complete_set(made)


def test_before_manifests_one_file_without_the_banner_is_enough_to_refuse(made):
    (made / MANIFEST).unlink()
    (made / "docs" / "README").write_text("hand-written\n")
    refused(generate(made), made, "docs/README")
    assert (made / "docs" / "README").read_text() == "hand-written\n"


def run_in(folder, *args, **env):
    """The real CLI, run from `folder` (outside the repository)."""
    return subprocess.run([sys.executable, "-m", "codegen", *args], cwd=folder, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT, **env))


def test_generate_into_the_current_folder_keeps_the_spec(tmp_path):
    """The issue's report: `generate --out .` deleted the folder it was pointed at, the spec included."""
    shutil.copy(SPEC, tmp_path / "sysmsg.yaml")
    refused(run_in(tmp_path, "generate", "--spec", "sysmsg.yaml", "--out", "."), ".", "spec's folder")
    assert os.listdir(tmp_path) == ["sysmsg.yaml"]


def test_the_current_folder_and_its_ancestors_are_refused_even_when_empty(tmp_path):
    here = tmp_path / "a" / "here"
    here.mkdir(parents=True)
    refused(run_in(here, "generate", "--spec", SPEC, "--out", "."), ".", "current folder")
    refused(run_in(here, "generate", "--spec", SPEC, "--out", ".."), "..", "current folder")
    assert os.listdir(tmp_path / "a") == ["here"] and os.listdir(here) == []


@pytest.mark.parametrize("where", ["spec folder", "spec ancestor"])
def test_the_spec_folder_and_its_ancestors_are_refused_even_when_they_hold_only_the_spec(tmp_path, where):
    folder = tmp_path / "a" / "spec"
    folder.mkdir(parents=True)
    shutil.copy(SPEC, folder / "sysmsg.yaml")
    out = folder if where == "spec folder" else tmp_path / "a"
    refused(generate(out, folder / "sysmsg.yaml"), out, "spec's folder")
    assert os.listdir(folder) == ["sysmsg.yaml"]


def test_a_repository_root_is_refused_even_when_empty(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    refused(generate(repo), repo, ".git")
    inside = repo / "sub"
    inside.mkdir()
    refused(run_in(inside, "generate", "--spec", SPEC, "--out", str(repo)), repo, "repository root")
    refused(run_in(inside, "generate", "--spec", SPEC, "--out", str(tmp_path)), tmp_path, "repository root")
    assert sorted(os.listdir(repo)) == [".git", "sub"]


def test_the_file_system_root_and_the_home_folder_are_refused(tmp_path):
    refused(generate("/"), "/", "file system root")
    home = tmp_path / "home"
    home.mkdir()
    refused(run_in(ROOT, "generate", "--spec", SPEC, "--out", str(home), HOME=str(home)), home, "home folder")
    assert os.listdir(home) == []


# ---- symlinks and malformed manifests -----------------------------------------------------------


def test_out_through_a_symlink_writes_into_its_target_and_keeps_the_link(tmp_path, made):
    link = tmp_path / "link"
    link.symlink_to(made)
    assert generate(link, OTHER_SPEC).returncode == 0
    assert link.is_symlink() and (made / "c" / "linux_stat.h").exists()
    assert_one_complete_set(made)


def test_a_manifest_entry_that_is_a_symlink_is_refused(made, tmp_path):
    outside = tmp_path / "precious.h"
    outside.write_text("keep me\n")
    (made / "c" / "sysmsg.h").unlink()
    (made / "c" / "sysmsg.h").symlink_to(outside)
    refused(generate(made), made, "c/sysmsg.h")
    assert outside.read_text() == "keep me\n" and (made / "c" / "sysmsg.h").is_symlink()


def test_a_manifest_entry_that_leaves_the_folder_is_refused(made):
    path = made / MANIFEST
    good = path.read_bytes()
    for entry in ["../outside.txt", "/etc/passwd", "c/./sysmsg.h", "c//sysmsg.h", "c\\x", "c/a\tb"]:
        path.write_bytes(good + f"{'f' * 64} {entry}\n".encode())
        before = snapshot(made)
        refused(generate(made), made, MANIFEST)
        assert snapshot(made) == before, entry


def test_a_malformed_manifest_is_refused_not_trusted(made):
    path = made / MANIFEST
    data = path.read_bytes()
    lines = data.split(b"\n")
    damaged = {
        "header": b"layoutgen-manifest 2\n" + b"\n".join(lines[1:]),
        "no final newline": data[:-1],
        "unsorted": b"\n".join([lines[0], lines[2], lines[1]] + lines[3:]),
        "repeated": b"\n".join([lines[0], lines[1]] + lines[1:]),
        "short hash": data.replace(lines[1][:64], lines[1][:63], 1),
        "upper-case hash": data.replace(lines[1][:64], lines[1][:64].upper(), 1),
        "two spaces": data.replace(lines[1][:65], lines[1][:64] + b"  ", 1),
        "lists itself": b"\n".join([lines[0], b"f" * 64 + b" " + MANIFEST.encode()] + lines[1:]),
        "not utf-8": data + b"\xff\n",
        "blank line": data + b"\n",
    }
    for damage, text in damaged.items():
        path.write_bytes(text)
        refused(generate(made), made, "malformed layoutgen manifest")
        assert path.read_bytes() == text, damage


# ---- serialised runs -----------------------------------------------------------------------------


def test_two_runs_into_one_folder_take_turns(tmp_path):
    """Two generate processes (different specs) start together into one folder, many times: each
    succeeds, and afterwards the folder is exactly one complete set."""
    out = tmp_path / "shared"
    sets = {}
    for name, spec in (("main", SPEC), ("other", OTHER_SPEC)):
        assert generate(tmp_path / name, spec).returncode == 0
        sets[name] = snapshot(tmp_path / name)
    command = [sys.executable, "-m", "codegen", "generate", "--out", str(out), "--spec"]
    seen = set()
    for _ in range(8):
        runs = [subprocess.Popen(command + [spec], cwd=ROOT, stderr=subprocess.PIPE, text=True)
                for spec in (SPEC, OTHER_SPEC)]
        for run in runs:
            _, err = run.communicate()
            assert run.returncode == 0, err
        assert_one_complete_set(out)
        now = snapshot(out)
        assert now in sets.values(), "a mix of both runs"
        seen.add(next(name for name, files in sets.items() if files == now))
    assert seen  # which run went last is up to the scheduler


def hold_lock(folder):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_run_waits_for_the_lock_on_the_parent_folder(made):
    fd = hold_lock(made.parent)
    try:
        run = subprocess.Popen([sys.executable, "-m", "codegen", "generate", "--spec", OTHER_SPEC, "--out", str(made)],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
        assert "waiting for another layoutgen run" in run.stderr.readline()
        assert (made / "c" / "sysmsg.h").exists()  # nothing touched while it waits
    finally:
        os.close(fd)
    assert run.wait() == 0, run.stderr.read()
    assert (made / "c" / "linux_stat.h").exists()
    assert_one_complete_set(made)


def test_a_run_that_cannot_get_the_lock_fails_cleanly(made):
    before = snapshot(made)
    fd = hold_lock(made.parent)
    try:
        env = dict(os.environ, LAYOUTGEN_LOCK_TIMEOUT="0.3")
        result = subprocess.run([sys.executable, "-m", "codegen", "generate", "--spec", OTHER_SPEC, "--out", str(made)],
                                cwd=ROOT, capture_output=True, text=True, env=env)
    finally:
        os.close(fd)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert str(made) in last and "another layoutgen run holds the folder" in last and "hint:" in last
    assert snapshot(made) == before
    assert_parent_clean(made)


def test_the_lock_leaves_no_file_behind(made):
    assert sorted(os.listdir(made.parent)) == ["gen"]


# ---- disk failures -------------------------------------------------------------------------------


def in_mount_namespace(script: str):
    """Run a shell script in a private mount namespace (its mounts vanish with it); the script
    calls the real CLI as `$LAYOUTGEN`."""
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is missing"
    env = dict(os.environ, LAYOUTGEN=f"{sys.executable} -m codegen", PYTHONPATH=ROOT)
    return subprocess.run([unshare, "-m", "--propagation", "private", "sh", "-ec", script],
                          cwd=ROOT, capture_output=True, text=True, env=env)


def cli_lines(stderr: str) -> list:
    return [line for line in stderr.splitlines() if line.startswith("layoutgen:")]


def test_a_read_only_file_system_is_a_clean_exit_2_and_the_old_set_stays(made):
    before = snapshot(made)
    parent = made.parent
    result = in_mount_namespace(
        f"mount --bind {parent} {parent}; mount -o remount,bind,ro {parent}\n"
        f"set +e; $LAYOUTGEN generate --spec {OTHER_SPEC} --out {made}; echo rc=$?")
    assert "rc=2" in result.stdout, result.stdout + result.stderr
    [line] = cli_lines(result.stderr)
    assert line.startswith(f"layoutgen: {made}: Read-only file system (hint: ")
    assert snapshot(made) == before
    assert_parent_clean(made)


def test_a_full_disk_is_a_clean_exit_2_and_leaves_nothing(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    result = in_mount_namespace(
        f"mount -t tmpfs -o size=64k tmpfs {disk}\n"
        f"set +e; $LAYOUTGEN generate --out {disk}/gen; echo rc=$?; echo left:; ls -A {disk}")
    assert "rc=2" in result.stdout, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("left:"), result.stdout  # not even the staging folder
    [line] = cli_lines(result.stderr)
    assert line.startswith(f"layoutgen: {disk}/gen: No space left on device (hint: ")


def _pages_of(result) -> int:
    """Bytes a tmpfs needs for the folder `generate` wrote: every file and folder in 4 KiB pages."""
    assert result.returncode == 0, result.stderr
    folder = result.args[result.args.index("--out") + 1]
    total = 0
    for parent, _, files in os.walk(folder):
        total += 4096  # the folder itself
        total += sum(-(-os.path.getsize(os.path.join(parent, f)) // 4096) * 4096 for f in files)
    return total


def test_a_disk_that_fills_while_replacing_keeps_the_old_set(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    # Room for one set of sysmsg output (its files counted in pages, as tmpfs does), not for a
    # second beside it.
    one_set = _pages_of(generate(tmp_path / "measure"))
    result = in_mount_namespace(
        f"mount -t tmpfs -o size={one_set * 3 // 2 // 1024}k tmpfs {disk}\n"
        f"$LAYOUTGEN generate --out {disk}/gen\n"
        f"cp {disk}/gen/{MANIFEST} {tmp_path}/before\n"
        f"set +e; $LAYOUTGEN generate --out {disk}/gen; echo rc=$?\n"
        f"ls -A {disk}; cd {disk}/gen && tail -n +2 {MANIFEST} | sed 's/ /  /' | sha256sum -c --quiet && echo intact")
    assert "rc=2" in result.stdout, result.stdout + result.stderr
    assert result.stdout.split("rc=2\n")[1] == "gen\nintact\n", result.stdout + result.stderr
    assert "No space left on device" in cli_lines(result.stderr)[-1]


def test_a_file_size_limit_is_a_clean_exit_2(tmp_path):
    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
    out = tmp_path / "gen"
    result = subprocess.run([sys.executable, "-m", "codegen", "generate", "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, preexec_fn=limited)
    refused(result, out, "File too large")
    assert os.listdir(tmp_path) == []


def test_a_name_too_long_for_the_file_system(tmp_path):
    out = tmp_path / ("x" * 300)
    refused(generate(out), out, "File name too long")
    assert os.listdir(tmp_path) == []


def test_a_long_name_the_file_system_takes_still_works(tmp_path):
    out = tmp_path / ("x" * 250)  # the hidden staging sibling must not push it past 255 bytes
    assert generate(out).returncode == 0
    assert_one_complete_set(out)


def test_out_under_a_regular_file_or_at_one(tmp_path):
    blocker = tmp_path / "somefile"
    blocker.write_text("keep\n")
    refused(generate(blocker / "gen"), blocker / "gen", "is a file, not a folder")
    refused(generate(blocker), blocker, "not a folder")
    assert blocker.read_text() == "keep\n" and os.listdir(tmp_path) == ["somefile"]


@pytest.mark.parametrize("out", ["somefile", "somefile/gen", "x" * 300, "missing"])
def test_check_reports_a_bad_out_folder_in_one_line(tmp_path, out):
    (tmp_path / "somefile").write_text("keep\n")
    result = run_cli("check", "--out", str(tmp_path / out))
    refused(result, tmp_path / out, "hint:")


def test_check_compares_the_manifest_like_any_generated_file(made, tmp_path):
    """The manifest decides what the next run may replace, so a stale one is drift."""
    lines = (made / MANIFEST).read_text().splitlines(keepends=True)
    (made / MANIFEST).write_text("".join(lines[:-1]))
    empty = tmp_path / "no_consumers"
    empty.mkdir()
    result = run_cli("check", "--spec", SPEC, "--out", str(made), "--consumers", str(empty))
    assert result.returncode == 1, result.stdout + result.stderr
    drift_report = result.stdout.split("check: the committed JSON Schema")[0]
    assert "generated files match the spec: FAILED" in drift_report
    assert f"{made}/{MANIFEST}: differs from what the spec generates" in drift_report
    assert drift_report.count(": differs") == 1 and "missing" not in drift_report


def test_an_odd_file_name_is_printed_escaped(made):
    (made / "c" / "\x1b[2Jx\n").write_text("")
    result = generate(made)
    refused(result, made, "'c/\\x1b[2Jx\\n'")
    assert "\x1b" not in result.stderr
