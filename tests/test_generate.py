"""`layoutgen generate`: deterministic, labelled, and all-or-nothing even under kill -9."""
import hashlib
import os
import random
import signal
import subprocess
import sys
import time

from codegen.check import drift
from conftest import GENERATED, ROOT, SPEC, run_cli
from test_write import assert_manifest_matches, assert_one_complete_set


def snapshot(folder) -> dict:
    return {path: hashlib.sha256(data).hexdigest() for path, data in drift.committed_files(str(folder)).items()}


def test_generating_twice_gives_identical_bytes(tmp_path):
    for name in ("a", "b"):
        assert run_cli("generate", "--out", str(tmp_path / name)).returncode == 0
    first, second = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert first and first == second


def test_committed_output_is_what_the_spec_generates(tmp_path):
    assert run_cli("generate", "--out", str(tmp_path / "generated")).returncode == 0
    assert snapshot(tmp_path / "generated") == snapshot(GENERATED)


def test_every_file_says_it_is_generated_and_how_to_regenerate():
    files = drift.committed_files(GENERATED)
    digest = hashlib.sha256(open(SPEC, "rb").read()).hexdigest()
    for path, data in files.items():
        if path.endswith("py.typed") or path.endswith("go.mod") or path.endswith("go.sum"):
            continue
        head = data.decode()[:600]
        assert "DO NOT EDIT" in head, path
        assert "spec/sysmsg.yaml" in head, path
        assert digest in head, path
        assert "Regenerate with: layoutgen generate  (in the folder of the layoutgen.toml" in head, path
        assert "make " not in head, path  # a make target exists in this repository only


def test_no_timestamps_in_output():
    for path, data in drift.committed_files(GENERATED).items():
        assert b"2026-" not in data and b"2025-" not in data, path


def test_exit_status_and_usage_errors(tmp_path):
    assert run_cli().returncode == 2
    assert run_cli("frobnicate").returncode == 2
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    result = run_cli("generate", "--out", str(blocked))
    assert result.returncode == 2 and "not a folder" in result.stderr
    assert blocked.read_text() == "not a folder"


def test_module_and_console_script_agree(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "layoutgen")
    assert os.path.exists(script), "the console script is installed with the package"
    result = subprocess.run([script, "generate", "--out", str(tmp_path / "x")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path / "x") == snapshot(GENERATED)


def test_kill_at_any_moment_leaves_old_or_new(tmp_path):
    """SIGKILL the generator at random moments: the folder is always one complete set."""
    other_spec = tmp_path / "other.yaml"
    other_spec.write_text(open(SPEC).read().replace("value: 3584", "value: 3520"))
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", str(other_spec), "--out", str(out / "gen")).returncode == 0
    new_dir = tmp_path / "new"
    assert run_cli("generate", "--out", str(new_dir)).returncode == 0
    old_set, new_set = snapshot(out / "gen"), snapshot(new_dir)
    assert old_set != new_set
    started = time.monotonic()
    assert run_cli("generate", "--out", str(tmp_path / "timing")).returncode == 0
    duration = time.monotonic() - started
    rng = random.Random(1234)
    seen = {"old": 0, "new": 0}
    for _ in range(30):  # each round is a whole generate; 30 land before, during and after the swap
        target = out / "gen"
        process = subprocess.Popen([sys.executable, "-m", "codegen", "generate", "--out", str(target)],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, duration * 2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        now = snapshot(target)
        assert now in (old_set, new_set), "a mix of old and new files"
        assert_manifest_matches(target)
        seen["new" if now == new_set else "old"] += 1
        if now == new_set:  # put the old set back for the next round
            assert run_cli("generate", "--spec", str(other_spec), "--out", str(target)).returncode == 0
    assert seen["old"] and seen["new"], seen
    # After the last kill the next run still works, and removes whatever staging folder was left.
    assert run_cli("generate", "--out", str(out / "gen")).returncode == 0
    assert snapshot(out / "gen") == new_set
    assert_one_complete_set(out / "gen")
