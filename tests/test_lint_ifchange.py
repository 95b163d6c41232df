"""Tests for ``layoutgen lint-ifchange`` (codegen.lint.ifchange).

Every test builds a real git repository under ``tmp_path``.  Marker words are
written as ``@IF`` / ``@THEN`` and expanded by :mod:`lint_repo`.
"""

from __future__ import annotations

import io
import os
import time

import pytest

from codegen.lint import ifchange, markers
from lint_repo import IF, THEN, LintRepo, expand, pair


@pytest.fixture(autouse=True)
def _clean_git_env(monkeypatch, tmp_path):
    # Keep the developer's own git setup (hooks, global config, a GIT_DIR
    # exported by a surrounding hook) out of the throw-away repositories.
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                 "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_PREFIX", "NO_IFTTT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)


@pytest.fixture
def repo(tmp_path):
    return LintRepo(tmp_path / "repo")


# ---------------------------------------------------------------------------
# static mode: the rules


def test_reciprocal_pair_is_clean(repo):
    pair(repo)
    repo.commit("init")
    res = repo.lint()
    assert res.code == 0, res
    assert res.out == ""


def test_unclosed_block(repo):
    repo.write("a.c", "int x;\n// @IF\nint y;\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"a.c:2: {IF} is never closed by a {THEN}"]


def test_nested_block(repo):
    pair(repo)
    repo.write("a.c", "// @IF\nint a;\n  // @IF(inner)\nint b;\n// @THEN(b.h)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"a.c:3: nested {IF}: the block opened on line 1 is still open"]


def test_thenchange_without_ifchange(repo):
    pair(repo)
    repo.write("c.py", "x = 1\n\n# @THEN(b.h)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"c.py:3: {THEN} without a preceding {IF}"]


def test_duplicate_label(repo):
    repo.write("a.c", "// @IF(x)\n1\n// @THEN(b.h:x)\n\n// @IF(x)\n2\n// @THEN(b.h:x)\n")
    repo.write("b.h", "// @IF(x)\n3\n// @THEN(a.c)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == ["a.c:5: duplicate label 'x' (first used on line 1)"]


def test_missing_target_file(repo):
    repo.write("a.c", "int a;\n// @IF\nint b;\n// @THEN(missing.h)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == ["a.c:4: target file missing.h does not exist"]


def test_missing_target_label(repo):
    repo.write("a.c", "// @IF\nint b;\n// @THEN(b.h:nope)\n")
    repo.write("b.h", "// @IF(yes)\n// @THEN(a.c)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"a.c:3: label 'nope' not found in b.h (no {IF}(nope) there)"]


def test_empty_thenchange_is_an_error(repo):
    repo.write("a.c", "// @IF\nint b;\n// @THEN()\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"a.c:3: {THEN}() lists no targets"]


def test_thenchange_without_list_is_an_error(repo):
    repo.write("a.c", "// @IF\nint b;\n// @THEN b.h\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"a.c:3: {THEN} must be followed by a '(target, ...)' list"]


def test_unterminated_target_list(repo):
    repo.write("a.c", "// @IF\nint a;\n// @THEN(b.h,\n//   c.h\nint b;\n// @IF\n// @THEN(b.h)\n")
    repo.write("b.h", "// @IF\n// @THEN(a.c)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"a.c:3: unterminated {THEN}( list: missing ')'"]


def test_bad_labels(repo):
    repo.write("a.c", "// @IF()\n// @THEN(b.h)\n// @IF(two words)\n// @THEN(b.h:)\n")
    repo.write("b.h", "// @IF\n// @THEN(a.c)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [
        f"a.c:1: empty label in {IF}()",
        f"a.c:3: invalid label 'two words' in {IF}",
        "a.c:4: target 'b.h:' has an empty label after ':'",
    ]


def test_one_way_pairing_is_a_warning(repo):
    repo.write("a.c", "int a;\n// @IF\nint b;\n// @THEN(b.h)\n")
    repo.write("b.h", "int c;\n")
    res = repo.lint()
    assert res.code == 0
    assert res.lines == [
        f"a.c:4: warning: one-way pairing: no block in b.h lists a.c in its {THEN}"]


def test_one_way_pairing_is_an_error_with_strict(repo):
    repo.write("a.c", "int a;\n// @IF\nint b;\n// @THEN(b.h)\n")
    repo.write("b.h", "int c;\n")
    res = repo.lint("--strict")
    assert res.code == 1
    assert res.lines == [f"a.c:4: one-way pairing: no block in b.h lists a.c in its {THEN}"]


def test_labelled_target_must_point_back_from_that_block(repo):
    # b.h has a block naming a.c, but not the labelled one a.c points at.
    repo.write("a.c", "// @IF\nint a;\n// @THEN(b.h:second)\n")
    repo.write("b.h", "// @IF(first)\n1\n// @THEN(a.c)\n// @IF(second)\n2\n// @THEN(c.h)\n")
    repo.write("c.h", "// @IF\n// @THEN(b.h:second)\n")
    res = repo.lint("--strict")
    assert res.code == 1
    assert res.lines == [
        f"a.c:3: one-way pairing: the block labelled 'second' in b.h does not list a.c "
        f"in its {THEN}"]


def test_unlabelled_target_accepts_any_block_pointing_back(repo):
    # a.c names b.h without a label; b.h answers from a labelled block and
    # names a.c's labelled block: both count as pointing back.
    repo.write("a.c", "// @IF(mine)\nint a;\n// @THEN(b.h)\n")
    repo.write("b.h", "int z;\n// @IF(theirs)\n1\n// @THEN(a.c:mine)\n")
    res = repo.lint("--strict")
    assert res.code == 0, res
    assert res.out == ""


def test_several_problems_are_all_reported(repo):
    repo.write("a.c", "// @THEN(x.h)\n// @IF(l)\n1\n// @IF(l)\n// @THEN(nothere.h)\n// @IF\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [
        f"a.c:1: {THEN} without a preceding {IF}",
        "a.c:4: duplicate label 'l' (first used on line 2)",
        f"a.c:4: nested {IF}: the block opened on line 2 is still open",
        "a.c:5: target file nothere.h does not exist",
        f"a.c:6: {IF} is never closed by a {THEN}",
    ]


# ---------------------------------------------------------------------------
# comment syntaxes, wrapped lists, paths


@pytest.mark.parametrize("name, opener, closer", [
    ("a.cc", "//", ""),
    ("a.py", "#", ""),
    ("a.c", "/*", " */"),
    ("a.s", ";", ""),
    ("a.sql", "--", ""),
    ("a.html", "<!--", " -->"),
])
def test_comment_syntaxes(repo, name, opener, closer):
    repo.write(name, f"x\n{opener} @IF(lbl){closer}\ny\n{opener} @THEN(b.h, gone.h){closer}\n")
    repo.write("b.h", f"// @IF\n// @THEN({name}:lbl)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"{name}:4: target file gone.h does not exist"]


def test_multiline_thenchange_with_slashes(repo):
    repo.write("a.c", (
        "// @IF\n"             # 1
        "int a;\n"             # 2
        "// @THEN(\n"          # 3
        "//   b.h,\n"          # 4
        "//   nothere.go,\n"   # 5
        "//   b.h:lbl\n"       # 6
        "// )\n"               # 7
        "int after;\n"))
    repo.write("b.h", "// @IF(lbl)\n// @THEN(a.c)\n")
    res = repo.lint("--strict")
    assert res.code == 1
    assert res.lines == ["a.c:5: target file nothere.go does not exist"]
    parsed = markers.parse_text("a.c", repo.read("a.c"))
    (block,) = parsed.blocks
    assert (block.start, block.end, block.end_last) == (1, 3, 7)
    assert [t.display for t in block.targets] == ["b.h", "nothere.go", "b.h:lbl"]


def test_multiline_thenchange_in_block_comment(repo):
    repo.write("a.c", (
        "/* @IF */\n"          # 1
        "int a;\n"             # 2
        "/* @THEN(\n"          # 3
        " *   //lib/b.h,\n"    # 4
        " *   lib/none.h\n"    # 5
        " * ) */\n"))          # 6
    repo.write("lib/b.h", "# @IF\n# @THEN(//a.c)\n")
    res = repo.lint("--strict")
    assert res.code == 1
    assert res.lines == ["a.c:5: target file lib/none.h does not exist"]


def test_multiline_thenchange_with_hash_and_repo_relative_target(repo):
    repo.write("tools/gen.py", (
        "# @IF(table)\n"       # 1
        "TABLE = []\n"         # 2
        "# @THEN(\n"           # 3
        "#     //include/t.h:table,\n"  # 4
        "#     ../include/t.h:nolabel,\n"  # 5
        "# )\n"))              # 6
    repo.write("include/t.h", "// @IF(table)\n// @THEN(//tools/gen.py:table)\n")
    res = repo.lint("--strict")
    assert res.code == 1
    assert res.lines == [
        f"tools/gen.py:5: label 'nolabel' not found in include/t.h (no {IF}(nolabel) there)"]


def test_relative_and_repo_relative_targets(repo):
    repo.write("src/core/a.c", "// @IF\n// @THEN(../../include/a.h, //docs/a.md, sib.c)\n")
    repo.write("include/a.h", "// @IF\n// @THEN(//src/core/a.c)\n")
    repo.write("docs/a.md", "<!-- @IF -->\n<!-- @THEN(../src/core/a.c) -->\n")
    repo.write("src/core/sib.c", "// @IF\n// @THEN(a.c)\n")
    res = repo.lint("--strict")
    assert res.code == 0, res
    # The same spelling without '//' is taken relative to the file's folder.
    repo.write("src/core/x.c", "// @IF\n// @THEN(docs/a.md)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == ["src/core/x.c:2: target file src/core/docs/a.md does not exist"]


def test_targets_outside_the_repository_are_rejected(repo):
    repo.write("a.c", "// @IF\n// @THEN(../../etc/passwd, /etc/hosts)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [
        "a.c:2: target '../../etc/passwd' points outside the repository",
        "a.c:2: target '/etc/hosts' is an absolute path; use '//path' for paths from "
        "the repository root",
    ]


def test_same_file_label_target(repo):
    repo.write("a.c", "// @IF(one)\n1\n// @THEN(:two)\n// @IF(two)\n2\n// @THEN(:one)\n"
                      "// @IF(three)\n// @THEN(:four)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"a.c:8: label 'four' not found in a.c (no {IF}(four) there)"]


def test_marker_words_inside_other_words_are_not_markers(repo):
    repo.write("a.c", "NOTLINT.IfChange\nX.LINT.ThenChange(a)\nLINT.IfChangeX\n")
    res = repo.lint()
    assert res.code == 0, res


def test_binary_files_without_markers_are_ignored(repo):
    repo.write("blob.bin", b"\x00\x01\xff" * 100)
    repo.write("latin1.txt", b"caf\xe9\n")
    res = repo.lint()
    assert res.code == 0, res
    assert res.out == ""
    # ... and a binary target is fine as long as no label is asked of it.
    repo.write("a.c", "// @IF\n// @THEN(blob.bin, blob.bin:x)\n")
    res = repo.lint("--strict")
    assert res.code == 1
    assert res.lines == ["a.c:2: target blob.bin:x: blob.bin is binary and cannot hold labels"]


@pytest.mark.parametrize("name, data, why", [
    ("blob.bin", b"\x00\x01\n" + IF.encode() + b"\n" + THEN.encode() + b"(nope)\n", "holds NUL bytes, so it is not text"),
    ("late_nul.c", b"x\n" * 5000 + b"// " + IF.encode() + b"\n// " + THEN.encode() + b"(b.h)\n\x00", "holds NUL bytes, so it is not text"),
    ("latin1.txt", b"caf\xe9\n" + IF.encode() + b"\n", "is not valid UTF-8 (byte 3)"),
])
def test_a_marker_in_a_file_that_is_not_text_is_an_error_naming_it(repo, name, data, why):
    """Markers cannot be hidden from the checker by a NUL byte or a stray non-UTF-8 byte."""
    repo.write(name, data)
    res = repo.lint()
    assert res.code == 1, res
    line = data[:data.index(b"LINT.")].count(b"\n") + 1
    assert len(res.lines) == 1 and res.lines[0].startswith(f"{name}:{line}: {name} {why}, but holds a LINT."), res


def test_a_file_over_the_size_limit_is_skipped_unless_it_holds_a_marker(repo):
    """Past 8 MiB a file is only scanned, in chunks, for a marker anywhere in it (one cut
    across two chunks included): without one it is skipped, with one it is an error."""
    filler = b"0123456789abcde\n" * (10 << 16)  # 10 MiB
    repo.write("big.txt", filler)
    assert repo.lint().code == 0
    cut = (1 << 20) * 9 - 5  # the marker straddles the end of the tenth 1 MiB chunk
    data = filler[:cut] + b"#" + IF.encode() + b"\n" + filler
    repo.write("big.txt", data)
    res = repo.lint()
    line = data[:cut].count(b"\n") + 1
    assert res.code == 1 and res.lines == [
        f"big.txt:{line}: big.txt is {len(data)} bytes, over the 8 MiB limit of the checker, but holds a "
        "LINT. marker (first on this line) that cannot be checked; make it UTF-8 text under the limit, or remove "
        "the marker"], res
    repo.commit("big")  # the index's copy is read through git cat-file, as big and as bounded
    assert repo.lint("--staged").code == 0
    repo.write("big.txt", data + b"more\n")
    repo.git("add", "big.txt")
    assert repo.lint("--staged").code == 1


def test_symlinks_that_leave_the_repository_are_not_followed(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.c").write_text(expand("// @IF\n// @THEN(nowhere.h)\n"))
    os.symlink(str(outside / "secret.c"), str(repo.path / "link.c"))
    os.symlink(str(outside), str(repo.path / "linkdir"))
    repo.write("a.c", "// @IF\n// @THEN(link.c, linkdir/secret.c)\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [
        "a.c:2: target link.c resolves outside the repository (through a symbolic link), which the checker "
        "does not follow",
        "a.c:2: target linkdir/secret.c resolves outside the repository (through a symbolic link), which the "
        "checker does not follow"], res
    assert repo.lint("link.c").code == 0  # named on the command line: still not read through


def test_crlf_files(repo):
    repo.write("a.c", "int a;\n// @IF(lbl)\nint b;\n// @THEN(\n//  b.h:lbl,\n//  c.h\n// )\n",
               crlf=True)
    repo.write("b.h", "// @IF(lbl)\n// @THEN(a.c:lbl)\n// @IF(x)\n", crlf=True)
    res = repo.lint()
    assert res.code == 1
    assert res.lines == ["a.c:6: target file c.h does not exist",
                         f"b.h:3: {IF} is never closed by a {THEN}"]
    assert "\r" not in res.out
    parsed = markers.parse_bytes("a.c", (repo.path / "a.c").read_bytes())
    (block,) = parsed.blocks
    assert block.label == "lbl"
    assert (block.start, block.end, block.end_last) == (2, 4, 7)
    assert [t.display for t in block.targets] == ["b.h:lbl", "c.h"]


def test_ten_thousand_blocks(repo):
    count = 10_000
    big = []
    other = []
    for i in range(count):
        big.append(f"// @IF(b{i})\nint v{i};\n// @THEN(other.h:o{i})\n")
        other.append(f"# @IF(o{i})\n# @THEN(big.c:b{i})\n")
    big.append("// @IF(tail)\nint tail;\n// @THEN(other.h:missing)\n")
    repo.write("big.c", "".join(big))
    repo.write("other.h", "".join(other))
    started = time.perf_counter()
    res = repo.lint("--strict")
    elapsed = time.perf_counter() - started
    print(f"\n10,000-block static check took {elapsed:.3f}s in-process")
    assert res.code == 1
    tail_line = 3 * count + 3
    assert res.lines == [
        f"big.c:{tail_line}: label 'missing' not found in other.h (no {IF}(missing) there)"]
    parsed = markers.parse_text("big.c", repo.read("big.c"))
    assert len(parsed.blocks) == count + 1
    assert parsed.blocks[-1].start == 3 * count + 1


# ---------------------------------------------------------------------------
# file selection and invocation


def test_paths_limit_the_check(repo):
    repo.write("good/a.c", "// @IF\n// @THEN(//good/b.c)\n")
    repo.write("good/b.c", "// @IF\n// @THEN(a.c)\n")
    repo.write("bad/c.c", "// @IF\n")
    assert repo.lint().code == 1
    assert repo.lint("good").code == 0
    res = repo.lint("bad/c.c")
    assert res.code == 1
    assert res.lines == [f"bad/c.c:1: {IF} is never closed by a {THEN}"]


def test_ignored_files_are_skipped_but_untracked_ones_checked(repo):
    repo.write(".gitignore", "build/\n")
    repo.write("build/out.c", "// @IF\n")
    repo.write("new.c", "// @IF\n")
    res = repo.lint()
    assert res.code == 1
    assert res.lines == [f"new.c:1: {IF} is never closed by a {THEN}"]


def test_not_a_git_repository(tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    res = LintRepo.__new__(LintRepo)
    res.path = plain
    result = res.lint()
    assert result.code == 2
    assert "not inside a git work tree" in result.err


def test_missing_path_argument_is_a_usage_error(repo):
    res = repo.lint("no/such/file.c")
    assert res.code == 2
    assert "no/such/file.c does not exist" in res.err


def test_module_entry_point(repo):
    repo.write("sub/a.c", "int a;\n// @IF\nint b;\n// @THEN(b.h)\n")
    repo.write("sub/b.h", "int c;\n")
    res = repo.lint_process()
    assert res.code == 0, res
    assert res.out == (f"sub/a.c:4: warning: one-way pairing: no block in sub/b.h lists "
                       f"sub/a.c in its {THEN}\n")
    res = repo.lint_process("--strict", "sub")
    assert res.code == 1
    assert res.out.startswith("sub/a.c:4: one-way pairing")
    res = repo.lint_process("--base", "HEAD", "--staged")
    assert res.code == 2


def test_add_arguments_and_main(repo, monkeypatch, capsys):
    pair(repo)
    repo.write("a.c", "// @IF\n")
    monkeypatch.chdir(repo.path)
    assert ifchange.main([]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"a.c:1: {IF} is never closed by a {THEN}",
        f"b.h:3: warning: one-way pairing: no block in a.c lists b.h in its {THEN}",
    ]


# ---------------------------------------------------------------------------
# diff mode


def _labelled_pair(repo):
    """a.c block (lines 2-4) names b.h:api; b.h has three regions."""
    repo.write("a.c", "int a0;\n// @IF\nint a1;\n// @THEN(b.h:api)\n")
    repo.write("b.h", (
        "int head;\n"            # 1
        "// @IF(api)\n"         # 2
        "int api1;\n"            # 3
        "int api2;\n"            # 4
        "// @THEN(a.c)\n"       # 5
        "int middle;\n"          # 6
        "// @IF(other)\n"       # 7
        "int other;\n"           # 8
        "// @THEN(a.c)\n"))     # 9
    return repo.commit("init")


def test_diff_block_edit_without_target_fails(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h not changed"]


def test_diff_passes_once_target_changes(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.replace("b.h", "int b2;", "int b2 = 2;")  # outside b.h's block, still counts
    res = repo.lint("--base", base)
    assert res.code == 0, res
    assert res.out == ""


def test_diff_edit_outside_blocks_is_ignored(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "int a0;", "int a0 = 0;")
    repo.replace("a.c", "int a2;", "int a2 = 2;")
    assert repo.lint("--base", base).code == 0


def test_diff_edit_on_marker_line_counts(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "// @THEN(b.h)", "// @THEN(b.h)  // keep in sync")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h not changed"]


def test_diff_deletion_inside_block_counts(repo):
    repo.write("a.c", "int a0;\n// @IF\nint a1;\nint a2;\n// @THEN(b.h)\n")
    repo.write("b.h", "// @IF\n// @THEN(a.c)\n")
    base = repo.commit("init")
    repo.replace("a.c", "int a2;\n", "")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h not changed"]


def test_diff_labelled_target_change_outside_label_does_not_count(repo):
    base = _labelled_pair(repo)
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.replace("b.h", "int middle;", "int middle = 1;")
    repo.replace("b.h", "int other;", "int other = 1;")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h:api not changed"]


def test_diff_labelled_target_change_inside_label_counts(repo):
    base = _labelled_pair(repo)
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.replace("b.h", "int api2;", "int api2 = 2;")
    res = repo.lint("--base", base)
    assert res.code == 0, res


def test_diff_deletion_inside_labelled_target_counts(repo):
    base = _labelled_pair(repo)
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.replace("b.h", "int api2;\n", "")
    res = repo.lint("--base", base)
    assert res.code == 0, res


def test_diff_multiple_targets_only_one_touched(repo):
    repo.write("a.c", "// @IF\nint a;\n// @THEN(b.h, c.h, d.h)\n")
    for name in ("b.h", "c.h", "d.h"):
        repo.write(name, f"int {name[0]};\n// @IF\n// @THEN(a.c)\n")
    base = repo.commit("init")
    repo.replace("a.c", "int a;", "long a;")
    repo.replace("c.h", "int c;", "long c;")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:1: block changed but b.h, d.h not changed"]


def test_diff_new_block_needs_no_target_change_but_is_validated(repo):
    pair(repo)
    repo.write("d.h", "int d;\n")
    base = repo.commit("init")
    # New blocks, in a new file and in an existing one, pointing at files
    # that this diff leaves alone.
    repo.write("c.h", "int c;\n// @IF\nint c1;\n// @THEN(b.h)\n")
    repo.replace("d.h", "int d;\n", "int d;\n// @IF\nint d1;\n// @THEN(nope.h)\n")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == [
        f"c.h:4: warning: one-way pairing: no block in b.h lists c.h in its {THEN}",
        "d.h:4: target file nope.h does not exist",
    ]


def test_diff_adding_a_label_is_an_edit_not_a_new_block(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "// @IF\n", "// @IF(renamed)\n")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h not changed"]


def test_diff_static_checks_only_on_changed_files(repo):
    pair(repo)
    repo.write("broken.c", "// @IF\n")
    base = repo.commit("init")
    repo.replace("a.c", "int a0;", "int a0 = 0;")
    assert repo.lint("--base", base).code == 0
    assert repo.lint().code == 1


def test_diff_against_older_commit_includes_committed_changes(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.commit("edit a")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h not changed"]
    res = repo.lint("--base", "HEAD")
    assert res.code == 0


def test_staged_mode(repo):
    pair(repo)
    repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.git("add", "a.c")
    repo.replace("b.h", "int b1;", "int b1 = 1;")  # not staged: does not count
    res = repo.lint("--staged")
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h not changed"]
    repo.git("add", "b.h")
    res = repo.lint("--staged")
    assert res.code == 0, res


def test_staged_mode_reads_the_index_not_the_working_tree(repo):
    pair(repo)
    repo.commit("init")
    repo.replace("a.c", "int a0;", "int a0 = 0;")
    repo.git("add", "a.c")
    # The working tree copy is broken but the staged one is fine.
    repo.write("a.c", "// @IF\n")
    assert repo.lint("--staged").code == 0
    assert repo.lint("--base", "HEAD").code == 1


def test_staged_mode_env_override(repo, monkeypatch):
    pair(repo)
    repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.git("add", "a.c")
    monkeypatch.setenv("NO_IFTTT", "generated code, partner updated later")
    res = repo.lint("--staged")
    assert res.code == 0
    assert res.lines == ["a.c:2: note: block changed but b.h not changed (overridden by "
                         "NO_IFTTT=generated code, partner updated later)"]


def test_staged_mode_on_first_commit(repo):
    pair(repo)
    repo.write("c.c", "// @IF\n// @THEN(zz.h)\n")
    repo.git("add", "-A")
    res = repo.lint("--staged")
    assert res.code == 1
    assert res.lines == ["c.c:2: target file zz.h does not exist"]


def test_no_ifttt_in_commit_message_overrides(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.commit("tweak a\n\nNO_IFTTT=b.h is regenerated by the build\n")
    res = repo.lint("--base", base)
    assert res.code == 0
    assert res.lines == ["a.c:2: note: block changed but b.h not changed (overridden by "
                         "NO_IFTTT=b.h is regenerated by the build)"]
    assert "overridden" in res.err


def test_no_ifttt_outside_the_range_does_not_count(repo):
    pair(repo)
    base = repo.commit("init\n\nNO_IFTTT=only for the base commit\n")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.commit("tweak a")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h not changed"]


def test_no_ifttt_does_not_excuse_static_errors(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;\n// @IF")
    repo.commit("tweak\n\nNO_IFTTT=because\n")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == [
        "a.c:2: note: block changed but b.h not changed (overridden by NO_IFTTT=because)",
        f"a.c:4: nested {IF}: the block opened on line 2 is still open",
    ]


def test_deleted_target(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.git("rm", "-q", "b.h")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == [
        "a.c:2: block changed but target b.h was deleted",
        "a.c:4: target file b.h does not exist",
    ]


def test_renamed_target(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("a.c", "int a1;", "int a1 = 1;")
    repo.git("mv", "b.h", "b2.h")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == [
        "a.c:2: block changed but target b.h was renamed to b2.h",
        "a.c:4: target file b.h does not exist",
        f"b2.h:3: warning: one-way pairing: no block in a.c lists b2.h in its {THEN}",
    ]


def test_deleting_a_target_flags_unchanged_files_that_name_it(repo):
    repo.write("a.c", "int a;\n// @IF\nint a1;\n// @THEN(b.h)\n")
    repo.write("b.h", "int b;\n")
    base = repo.commit("init")
    repo.git("rm", "-q", "b.h")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:4: target b.h was deleted"]


def test_removing_a_block_requires_its_targets_to_change(repo):
    pair(repo)
    base = repo.commit("init")
    repo.replace("b.h", "// @IF\nint b1;\n// @THEN(a.c)\n", "")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == [
        "b.h:1: block changed but a.c not changed (block removed; line number is from "
        f"{base})"]


def test_renamed_source_file_keeps_its_blocks(repo):
    pair(repo)
    base = repo.commit("init")
    repo.git("mv", "b.h", "b_renamed.h")
    repo.replace("a.c", "// @THEN(b.h)", "// @THEN(b_renamed.h)")
    # Pure rename of b.h, and a.c's block edited to follow it: b_renamed.h's
    # content did not change, so the edit of a.c's block is unpaired.
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b_renamed.h not changed"]
    # Editing inside the renamed file's block pairs the two edits up.
    repo.replace("b_renamed.h", "int b1;", "int b1 = 1;")
    res = repo.lint("--base", base)
    assert res.code == 0, res


def test_diff_binary_files_are_ignored_unless_they_hold_markers(repo):
    pair(repo)
    repo.write("data.bin", b"\x00\x01\n")
    base = repo.commit("init")
    repo.write("data.bin", b"\x00\x01\nmore\n")
    assert repo.lint("--base", base).code == 0
    repo.write("data.bin", b"\x00" + IF.encode() + b"\nmore\n")
    res = repo.lint("--base", base)
    assert res.code == 1 and res.lines[0].startswith("data.bin:1: data.bin holds NUL bytes"), res


def test_diff_crlf_file(repo):
    repo.write("a.c", "int a0;\n// @IF\nint a1;\n// @THEN(b.h)\n", crlf=True)
    repo.write("b.h", "// @IF\n// @THEN(a.c)\n", crlf=True)
    base = repo.commit("init")
    repo.write("a.c", "int a0;\n// @IF\nint a1 = 1;\n// @THEN(b.h)\n", crlf=True)
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:2: block changed but b.h not changed"]


def test_diff_untracked_target_counts_as_changed(repo):
    repo.write("a.c", "// @IF\nint a;\n// @THEN(gen/t.h)\n")
    base = repo.commit("init")
    repo.replace("a.c", "int a;", "long a;")
    repo.write("gen/t.h", "// @IF\n// @THEN(//a.c)\n")
    res = repo.lint("--base", base)
    assert res.code == 0, res


def test_diff_ten_thousand_blocks_one_edited(repo):
    count = 10_000
    repo.write("big.c", "".join(f"// @IF(b{i})\nint v{i};\n// @THEN(other.h:o{i})\n"
                                for i in range(count)))
    repo.write("other.h", "".join(f"# @IF(o{i})\n# @THEN(big.c:b{i})\n" for i in range(count)))
    base = repo.commit("init")
    repo.replace("big.c", "int v7777;", "long v7777;")
    repo.replace("big.c", "int v5;", "long v5;")
    repo.replace("other.h", "# @IF(o5)\n", "# @IF(o5)\n# note\n")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == [f"big.c:{3 * 7777 + 1}: block changed but other.h:o7777 not changed"]


def test_bad_revision_is_a_usage_error(repo):
    pair(repo)
    repo.commit("init")
    res = repo.lint("--base", "no-such-rev")
    assert res.code == 2
    assert "unknown revision 'no-such-rev'" in res.err


def test_base_and_staged_together_is_a_usage_error(repo):
    import argparse

    args = argparse.Namespace(paths=[], base="HEAD", staged=True, strict=False,
                              root=str(repo.path))
    err = io.StringIO()
    assert ifchange.run(args, out=io.StringIO(), err=err) == 2
    assert "--base and --staged cannot be used together" in err.getvalue()


def test_diff_deletion_inside_block_below_inserted_lines(repo):
    repo.write("a.c", "int a0;\n// @IF\nint a1;\nint a2;\n// @THEN(b.h)\n")
    repo.write("b.h", "// @IF\n// @THEN(a.c)\n")
    base = repo.commit("init")
    repo.replace("a.c", "int a0;\n", "int a0;\nint n1;\nint n2;\n")
    repo.replace("a.c", "int a2;\n", "")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["a.c:4: block changed but b.h not changed"]


def test_diff_deleted_source_file(repo):
    pair(repo)
    base = repo.commit("init")
    repo.git("rm", "-q", "a.c")
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == [
        f"a.c:2: block changed but b.h not changed (block removed; line number is from {base})",
        "b.h:3: target a.c was deleted",
    ]


def test_diff_paths_limit_which_changes_are_examined(repo):
    pair(repo, a="src/a.c", b="inc/b.h", a_target="//inc/b.h", b_target="//src/a.c")
    base = repo.commit("init")
    repo.replace("src/a.c", "int a1;", "int a1 = 1;")
    res = repo.lint("--base", base, "inc")
    assert res.code == 0, res
    res = repo.lint("--base", base, "src")
    assert res.code == 1
    assert res.lines == ["src/a.c:2: block changed but inc/b.h not changed"]


def test_diff_two_edited_blocks_in_one_file(repo):
    repo.write("a.c", (
        "// @IF(one)\n"          # 1
        "int one;\n"             # 2
        "// @THEN(b.h:one)\n"    # 3
        "int gap;\n"             # 4
        "// @IF(two)\n"          # 5
        "int two;\n"             # 6
        "// @THEN(b.h:two)\n"))  # 7
    repo.write("b.h", "// @IF(one)\n1\n// @THEN(a.c:one)\n// @IF(two)\n2\n// @THEN(a.c:two)\n")
    base = repo.commit("init")
    repo.replace("a.c", "int one;", "long one;")
    repo.replace("a.c", "int two;", "long two;")
    repo.replace("b.h", "2\n", "22\n")
    res = repo.lint("--base", base)
    assert res.code == 1
    # b.h's block 'two' changed and its partner a.c:two changed as well.
    assert res.lines == ["a.c:1: block changed but b.h:one not changed"]


def _manifest(repo, folder: str, names) -> None:
    """A `.layoutgen-manifest` listing `names` (inside `folder`) with their current bytes."""
    import hashlib
    root = repo.path / folder
    lines = ["layoutgen-manifest 1"] + [
        f"{hashlib.sha256((root / name).read_bytes()).hexdigest()} {name}" for name in names]
    repo.write(f"{folder}/.layoutgen-manifest", "\n".join(lines) + "\n")


def test_diff_accepts_a_partner_layoutgen_regenerated_unchanged(repo):
    """Both files of the pair are in one generated folder: regeneration keeps them in step and
    the drift gate proves them, so an edit of one block alone is not the lint's business."""
    pair(repo, "out/a.c", "out/b.h")
    _manifest(repo, "out", ["a.c", "b.h"])
    base = repo.commit("init")
    repo.replace("out/a.c", "int a1;", "int a1 = 1;")
    _manifest(repo, "out", ["a.c", "b.h"])
    res = repo.lint("--base", base)
    assert res.code == 0, res


def test_diff_still_flags_a_hand_edit_of_a_generated_file(repo):
    pair(repo, "out/a.c", "out/b.h")
    _manifest(repo, "out", ["a.c", "b.h"])
    base = repo.commit("init")
    repo.replace("out/a.c", "int a1;", "int a1 = 1;")  # the manifest still has the old bytes
    res = repo.lint("--base", base)
    assert res.code == 1
    assert res.lines == ["out/a.c:2: block changed but out/b.h not changed"]
