"""``layoutgen lint-ifchange``: keep paired regions of code edited together.

A region fenced by the ``IfChange`` / ``ThenChange`` markers (both with the
``LINT.`` prefix, see :mod:`codegen.lint.markers`) declares that whoever
edits it must also edit every file, or labelled region, listed by its
closing marker.

Two modes are offered:

* static (the default): every marker in the chosen files is validated --
  pairing, nesting, label uniqueness, existence of target files and labels,
  and whether each pairing is mirrored by the target;
* diff (``--base REV`` or ``--staged``): edits are read from ``git diff``
  and every touched region whose targets were left alone is reported.  The
  static rules are applied to the changed files as well.

Exit status: 0 when clean, 1 when there are errors or unexcused
violations, 2 for usage problems (not a git repository, unknown revision,
...).  Run standalone with ``python -m codegen.lint.ifchange``.
"""

from __future__ import annotations

import argparse
import bisect
import os
import posixpath
import re
import sys
from typing import Dict, List, Optional, Sequence, Set, Tuple

from codegen.lint.git import BlobSource, Git, UsageError, WorktreeSource, decode, split_nul, within, find_toplevel
from codegen.lint.generated import GeneratedFiles
from codegen.lint.markers import ERROR, IF_TOKEN, NOTE, THEN_TOKEN, WARNING, Block, Problem, Target
from codegen.lint.patch import FileDiff, parse_patch
from codegen.lint.static import Checker

PROG = "lint-ifchange"
OVERRIDE_KEY = "NO_IFTTT"
_OVERRIDE_RE = re.compile(r"^\s*NO_IFTTT=(.*\S)\s*$", re.MULTILINE)

# ---------------------------------------------------------------------------
# Command-line plumbing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of the checker on ``parser``."""
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="files or folders to check (default: every file git tracks plus "
             "untracked files that are not ignored); in diff mode they limit "
             "which changed files are examined")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--base", metavar="REV",
        help="diff mode: check the changes between REV and the working tree")
    mode.add_argument(
        "--staged", action="store_true",
        help="diff mode: check the changes between HEAD and the index "
             "(for a pre-commit hook)")
    parser.add_argument(
        "--strict", action="store_true",
        help="treat one-way pairings (a target that does not point back) as errors")
    parser.add_argument(
        "--root", metavar="DIR",
        help="repository to check (default: the git top level of the current folder)")


def _user_paths(root: str, paths: Sequence[str], root_given: bool,
                must_exist: bool) -> List[str]:
    """Turn command-line paths into repo-relative posix paths."""
    cwd = os.path.realpath(os.getcwd())
    base = cwd
    if root_given and not within(cwd, root):
        base = root  # relative paths make more sense against the repository
    result: List[str] = []
    for p in paths:
        full = os.path.abspath(os.path.join(base, p))
        head, tail = os.path.split(full)
        full = os.path.join(os.path.realpath(head), tail) if tail else os.path.realpath(full)
        if not within(full, root):
            raise UsageError(f"{p} is outside the repository {root}")
        if must_exist and not os.path.exists(full):
            raise UsageError(f"{p} does not exist")
        rel = os.path.relpath(full, root)
        rel = "" if rel == os.curdir else rel.replace(os.sep, "/")
        result.append(rel)
    return result


def _in_scope(path: str, scope: Sequence[str]) -> bool:
    if not scope:
        return True
    for s in scope:
        if not s or path == s or path.startswith(s + "/"):
            return True
    return False


def _list_files(git: Git, root: str, scope: Sequence[str]) -> List[str]:
    listing = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    names: Set[str] = set()
    explicit: Set[str] = set()
    if not scope or "" in scope:
        names.update(split_nul(git.run(listing)))
    else:
        folders = []
        for rel in scope:
            full = os.path.join(root, *rel.split("/"))
            if os.path.islink(full):
                continue  # a link is checked as git sees it: not followed
            if os.path.isfile(full):
                explicit.add(rel)
            else:
                folders.append(rel)
        if folders:
            names.update(split_nul(git.run(listing + ["--"] + folders)))
    result = set(explicit)
    for name in names:
        full = os.path.join(root, *name.split("/"))
        if os.path.isfile(full) and not os.path.islink(full):
            result.add(name)
    return sorted(result)


def _emit(problems: List[Problem], out, err, checked: int) -> int:
    problems.sort(key=lambda p: (p.path, p.line))
    errors = warnings = notes = 0
    for p in problems:
        out.write(p.format() + "\n")
        if p.severity == ERROR:
            errors += 1
        elif p.severity == WARNING:
            warnings += 1
        else:
            notes += 1
    if problems:
        parts = [f"{errors} error(s)", f"{warnings} warning(s)"]
        if notes:
            parts.append(f"{notes} overridden")
        err.write(f"{PROG}: {', '.join(parts)} in {checked} file(s)\n")
    return 1 if errors else 0


def run(args: argparse.Namespace, out=None, err=None) -> int:
    """Carry out the check described by ``args``; returns the exit status.

    ``out`` receives the diagnostics and ``err`` the summary and usage
    errors; both default to the current ``sys.stdout`` / ``sys.stderr``.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        return _run(args, out, err)
    except UsageError as exc:
        err.write(f"{PROG}: error: {exc}\n")
        return 2


def _run(args: argparse.Namespace, out, err) -> int:
    base_rev = getattr(args, "base", None)
    staged = bool(getattr(args, "staged", False))
    strict = bool(getattr(args, "strict", False))
    root_arg = getattr(args, "root", None)
    paths = list(getattr(args, "paths", None) or [])
    if base_rev is not None and staged:
        raise UsageError("--base and --staged cannot be used together")
    if root_arg is not None and not os.path.isdir(root_arg):
        raise UsageError(f"--root {root_arg}: no such directory")
    root = find_toplevel(root_arg if root_arg is not None else os.getcwd())
    diff_mode = staged or base_rev is not None
    scope = _user_paths(root, paths, root_arg is not None, must_exist=not diff_mode)
    git = Git(root)
    try:
        if diff_mode:
            return _run_diff(git, root, scope, base_rev, strict, out, err)
        return _run_static(git, root, scope, strict, out, err)
    finally:
        git.close()


def _run_static(git: Git, root: str, scope: List[str], strict: bool, out, err) -> int:
    files = _list_files(git, root, scope)
    checker = Checker(WorktreeSource(root), strict)
    problems: List[Problem] = []
    for name in files:
        problems.extend(checker.check_file(name))
    return _emit(problems, out, err, len(files))


# ---------------------------------------------------------------------------
# Diff mode


class _DiffContext:
    def __init__(self, diffs: List[FileDiff], new: Checker, old: Checker, old_name: str):
        self.diffs = diffs
        self.new = new
        self.old = old
        self.old_name = old_name
        self.generated: Optional[GeneratedFiles] = None  # set in diff mode, from the checkout's manifests
        self.by_new: Dict[str, FileDiff] = {d.new_path: d for d in diffs if d.new_path}
        self.by_old: Dict[str, FileDiff] = {d.old_path: d for d in diffs if d.old_path}

    def gone(self, path: str) -> Optional[str]:
        """Why ``path`` no longer exists after the edit, if it doesn't."""
        if path in self.by_new:
            return None
        d = self.by_old.get(path)
        if d is None:
            return None
        if d.status == "D":
            return f"target {path} was deleted"
        if d.status == "R":
            return f"target {path} was renamed to {d.new_path}"
        return None

    def target_changed(self, t: Target) -> bool:
        d = self.by_new.get(t.path)
        if d is None or not d.touched:
            return False
        if t.label is None:
            return True
        tpf = self.new.parsed(t.path)
        nb = tpf.by_label.get(t.label) if tpf is not None else None
        if nb is not None and d.added.hits(nb.start, nb.end_last):
            return True
        if d.removed and d.old_path is not None:
            opf = self.old.parsed(d.old_path)
            ob = opf.by_label.get(t.label) if opf is not None else None
            if ob is not None and d.removed.hits(ob.start, ob.end_last):
                return True
        return False


def _changed_blocks(d: FileDiff, ctx: _DiffContext) -> Tuple[List[Block], List[Block]]:
    """Blocks of ``d`` whose lines were edited.

    Returns ``(live, removed)``: regions that still exist (new-side line
    numbers) and regions that vanished (old-side line numbers).  Regions
    written from scratch in this diff are left out of both.
    """
    new_pf = ctx.new.parsed(d.new_path) if d.new_path is not None else None
    if new_pf is not None and new_pf.binary:
        return [], []
    if d.whole_new:
        return [], []
    new_blocks = new_pf.blocks if new_pf is not None else []
    new_starts = [b.start for b in new_blocks]  # ascending: blocks never nest

    live: Dict[int, Block] = {}
    for nb in new_blocks:
        if not d.added.hits(nb.start, nb.end_last):
            continue
        if d.added.hits(nb.start, nb.start):
            # The opening marker line is itself new: a region introduced by
            # this diff.  If it merely rewrote an existing opening marker
            # (say, to add a label), the pass over the old regions below
            # matches it to its predecessor and puts it back.
            continue
        live[nb.start] = nb

    removed: List[Block] = []
    if d.removed and d.old_path is not None:
        opf = ctx.old.parsed(d.old_path)
        if opf is not None and not opf.binary:
            for ob in opf.blocks:
                if not d.removed.hits(ob.start, ob.end_last):
                    continue
                match: Optional[Block] = None
                if new_pf is not None:
                    mapped = d.map_old_line(ob.start)
                    if mapped is not None:
                        match = new_pf.block_starting_at(mapped)
                    else:
                        hunk = d.hunk_for_old_line(ob.start)
                        if hunk is not None and hunk[3]:
                            # The opening marker line was rewritten: pair the
                            # region with the first one opening in the lines
                            # that replaced it.
                            lo, hi = hunk[2], hunk[2] + hunk[3] - 1
                            i = bisect.bisect_left(new_starts, lo)
                            if i < len(new_starts) and new_starts[i] <= hi:
                                match = new_blocks[i]
                if match is not None:
                    live.setdefault(match.start, match)
                else:
                    removed.append(ob)
    return sorted(live.values(), key=lambda b: b.start), removed


def _block_violations(block: Block, ctx: _DiffContext, vanished: bool) -> List[str]:
    untouched: List[str] = []
    other: List[str] = []
    seen: Set[Tuple[str, Optional[str]]] = set()
    for t in block.targets:
        key = (t.path, t.label)
        if key in seen:
            continue
        seen.add(key)
        why = ctx.gone(t.path)
        if why is not None:
            if not vanished:  # a removed region may take its partner with it
                other.append(f"block changed but {why}")
            continue
        if not ctx.target_changed(t) and not (ctx.generated and ctx.generated.together(block.path, t.path)):
            untouched.append(t.display)
    msgs = []
    if untouched:
        msgs.append(f"block changed but {', '.join(untouched)} not changed")
    msgs.extend(other)
    if vanished:
        msgs = [f"{m} (block removed; line number is from {ctx.old_name})" for m in msgs]
    return msgs


def _dangling_references(git: Git, ctx: _DiffContext, staged: bool, scope: Sequence[str],
                         skip: Set[str]) -> List[Problem]:
    """Unchanged files whose blocks still name a file this diff removed."""
    vanished = {p for p in ctx.by_old if ctx.gone(p) is not None}
    if not vanished:
        return []
    args = ["grep", "-l", "-z", "-I", "-F"]
    args.append("--cached" if staged else "--untracked")
    for name in sorted({posixpath.basename(p) for p in vanished}):
        args += ["-e", name]
    good, raw = git.ok(args)
    if not good:
        return []
    found: List[Problem] = []
    for name in split_nul(raw):
        if name in skip or not _in_scope(name, scope):
            continue
        pf = ctx.new.parsed(name)
        if pf is None:
            continue
        for block in pf.blocks:
            for t in block.targets:
                if t.path in vanished:
                    found.append(Problem(name, t.line, ctx.gone(t.path) or ""))
    return found


def _override_reason(git: Git, staged: bool, rev: Optional[str]) -> Optional[str]:
    if staged:
        reason = os.environ.get(OVERRIDE_KEY, "").strip()
        return reason or None
    good, raw = git.ok(["log", "--format=%B", f"{rev}..HEAD", "--"])
    if not good:
        return None
    m = _OVERRIDE_RE.search(decode(raw))
    return m.group(1).strip() if m else None


def _run_diff(git: Git, root: str, scope: List[str], base_rev: Optional[str],
              strict: bool, out, err) -> int:
    staged = base_rev is None
    cmd = ["diff", "-M", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv",
           "--src-prefix=a/", "--dst-prefix=b/", "--ignore-submodules=all"]
    if staged:
        cmd.append("--cached")
        new_source = BlobSource(git, None)
        old_source = BlobSource(git, "HEAD")
        old_name = "HEAD"
        rev = None
    else:
        good, raw = git.ok(["rev-parse", "--verify", "--quiet", "--end-of-options",
                            base_rev + "^{commit}"])
        if not good:
            raise UsageError(f"unknown revision '{base_rev}'")
        rev = decode(raw).strip()
        cmd.append(rev)
        new_source = WorktreeSource(root)
        old_source = BlobSource(git, rev)
        old_name = base_rev
    cmd.append("--")
    diffs = parse_patch(git.run(cmd))
    if not staged:
        # Files that git does not track yet are part of the working tree too.
        known = {d.new_path for d in diffs if d.new_path}
        for name in split_nul(git.run(["ls-files", "-z", "--others", "--exclude-standard"])):
            if name in known:
                continue
            full = os.path.join(root, *name.split("/"))
            if not os.path.isfile(full) or os.path.islink(full):
                continue
            d = FileDiff()
            d.status = "A"
            d.new_path = name
            d.finish()
            diffs.append(d)

    new = Checker(new_source, strict)
    old = Checker(old_source, strict)
    ctx = _DiffContext(diffs, new, old, old_name)
    ctx.generated = GeneratedFiles(root)  # a block whose partner layoutgen regenerated with it needs no hand edit

    problems: List[Problem] = []
    violations: List[Problem] = []
    changed_files: Set[str] = set()
    for d in diffs:
        if d.new_path is not None and _in_scope(d.new_path, scope):
            changed_files.add(d.new_path)
            problems.extend(new.check_file(d.new_path))
    for d in diffs:
        where = d.new_path if d.new_path is not None else d.old_path
        if where is None or not d.touched:
            continue
        if not (_in_scope(where, scope) or (d.old_path and _in_scope(d.old_path, scope))):
            continue
        live, removed = _changed_blocks(d, ctx)
        for block in live:
            for msg in _block_violations(block, ctx, vanished=False):
                violations.append(Problem(block.path, block.start, msg))
        for block in removed:
            for msg in _block_violations(block, ctx, vanished=True):
                violations.append(Problem(block.path, block.start, msg))
    violations.extend(_dangling_references(git, ctx, staged, scope, changed_files))

    if violations:
        reason = _override_reason(git, staged, rev)
        if reason is not None:
            for v in violations:
                v.severity = NOTE
                v.message += f" (overridden by {OVERRIDE_KEY}={reason})"
    problems.extend(violations)
    checked = len({d.new_path or d.old_path for d in diffs})
    return _emit(problems, out, err, checked)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen.lint.ifchange",
        description=(f"Check {IF_TOKEN} / {THEN_TOKEN} pairing comments: in static "
                     "mode validate them, in diff mode require that edits to a "
                     "guarded block come with edits to its targets."))
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
