"""The static rules of the pairing-comment checker: every marker of a file, read from one
source, is paired, nested, labelled uniquely, and points at targets that exist and point back."""

from __future__ import annotations

from typing import Dict, List, Optional

from codegen.lint import markers
from codegen.lint.markers import ERROR, IF_TOKEN, THEN_TOKEN, WARNING, ParsedFile, Problem, Target


class Checker:
    """Validates the markers of files read from one source, with caching."""

    def __init__(self, source, strict: bool = False):
        self.source = source
        self.strict = strict
        self._cache: Dict[str, Optional[ParsedFile]] = {}

    def parsed(self, path: str) -> Optional[ParsedFile]:
        try:
            return self._cache[path]
        except KeyError:
            pass
        data = self.source.read(path)
        pf = None if data is None else markers.parse_bytes(path, data)
        self._cache[path] = pf
        return pf

    def check_file(self, path: str) -> List[Problem]:
        pf = self.parsed(path)
        if pf is None:
            return []
        if pf.binary:
            return list(pf.problems)  # a marker where it cannot be checked
        found = list(pf.problems)
        for block in pf.blocks:
            for target in block.targets:
                problem = self._check_target(pf, target)
                if problem is not None:
                    found.append(problem)
        return found

    def _check_target(self, pf: ParsedFile, t: Target) -> Optional[Problem]:
        if t.path == pf.path:
            tpf: Optional[ParsedFile] = pf
        else:
            if getattr(self.source, "outside", None) is not None and self.source.outside(t.path):
                return Problem(pf.path, t.line, f"target {t.path} resolves outside the repository "
                                                "(through a symbolic link), which the checker does not follow")
            if not self.source.exists(t.path):
                if self.source.is_dir(t.path):
                    return Problem(pf.path, t.line, f"target {t.path} is a directory, not a file")
                return Problem(pf.path, t.line, f"target file {t.path} does not exist")
            tpf = self.parsed(t.path)
        if tpf is not None and tpf.binary:
            if t.label is not None:
                return Problem(pf.path, t.line,
                               f"target {t.display}: {t.path} is binary and cannot hold labels")
            return None  # a binary file cannot name anything back
        if t.label is not None:
            if tpf is None or t.label not in tpf.label_lines:
                return Problem(pf.path, t.line,
                               f"label '{t.label}' not found in {t.path} "
                               f"(no {IF_TOKEN}({t.label}) there)")
            back_block = tpf.by_label.get(t.label)
            if back_block is None:
                return None  # that region is malformed; it is reported on its own
            if any(bt.path == pf.path for bt in back_block.targets):
                return None
            msg = (f"one-way pairing: the block labelled '{t.label}' in {t.path} "
                   f"does not list {pf.path} in its {THEN_TOKEN}")
        else:
            if tpf is not None and pf.path in tpf.named_paths:
                return None
            msg = f"one-way pairing: no block in {t.path} lists {pf.path} in its {THEN_TOKEN}"
        return Problem(pf.path, t.line, msg, ERROR if self.strict else WARNING)
