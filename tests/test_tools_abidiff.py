"""`layoutgen abi-diff` on upstream's real history, and on the kinds of change it classifies.

The spec in the repository matches upstream between 2023-05-05 and 2023-10-25 (see the
reference's "Upstream history"). The two neighbouring revisions are written here as
edits of that spec:
  - 2023-03-03: MAX_FPSTATE_LEN was 3648 (it became 3584 on 2023-03-14).
  - 2023-10-25: ThreadContext's `acked u32` became `acked_time u64` followed by
    `state_changed_time u64`.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ARCHS, ROOT, SPEC, declared_archs, run_cli

CURRENT = open(SPEC).read()
FIT_ASSERT = ("  - expr: sizeof(ThreadContext) <= ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT\n"
              "    doc: A ThreadContext fits in its allocation.\n")
ACKED = ("      - name: acked\n        type: u32\n"
         "        doc: Set by the stub thread when it has taken the context from the queue.\n")
AFTER_FPSTATE = ("fpstate_changed", "ptregs", "siginfo", "signo", "state", "interrupt", "thread_id",
                 "last_thread_id", "sentry_fast_path", "acked", "tls", "debug")


def edited(text, old, new):
    assert old in text, f"the spec no longer contains {old!r}"
    return text.replace(old, new, 1)


CONTEXTS = CURRENT[CURRENT.index("  ThreadContexts:\n"):CURRENT.index("\nasserts:\n")]


def before_2023_03_14() -> str:
    """With 3648 bytes of fpstate the arm64 ThreadContext is 4104 bytes and would fail this
    project's own fit assert and the stride check of the context region, so the old revision
    is written without them (both are layoutgen's, not upstream's)."""
    text = edited(CURRENT, "  MAX_FPSTATE_LEN:\n    value: 3584\n", "  MAX_FPSTATE_LEN:\n    value: 3648\n")
    return edited(edited(text, FIT_ASSERT, ""), CONTEXTS, "")


def after_2023_10_25() -> str:
    return edited(CURRENT, ACKED, "      - name: acked_time\n        type: u64\n"
                                  "        doc: When the stub thread took the context from the queue.\n"
                                  "      - name: state_changed_time\n        type: u64\n"
                                  "        doc: When the context state last changed.\n")


@pytest.fixture
def write(tmp_path):
    def put(name, text):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        return str(path)
    return put


def diff_json(old, new, expect_code):
    result = run_cli("abi-diff", "--format", "json", old, new)
    assert result.returncode == expect_code, result.stdout + result.stderr
    return json.loads(result.stdout)


def changes_of(document, arch):
    return {(c["kind"], c["subject"]): c for c in document["changes"] if c["arch"] == arch}


def test_fpstate_shrinking_to_3584_moves_every_later_field_by_minus_64(write):
    document = diff_json(write("2023-03-03", before_2023_03_14()), SPEC, 1)
    assert document["breaking"] is True
    for arch in ARCHS:
        found = changes_of(document, arch)
        constant = found[("constant-changed", "MAX_FPSTATE_LEN")]
        assert constant["breaking"] and constant["detail"] == "3648 -> 3584"
        assert found[("field-resized", "ThreadContext.fpstate")]["breaking"]
        for field in AFTER_FPSTATE:
            moved = found[("field-moved", f"ThreadContext.{field}")]
            assert moved["breaking"] and moved["detail"].endswith("(-64)"), moved
        assert "-64" in found[("struct-shrunk", "ThreadContext")]["detail"]
        assert ("field-moved", "ThreadContext.fpstate") not in found
        assert not any(subject.startswith(("Msg", "ArchState")) for _, subject in found)


def test_acked_replaced_by_two_timestamps_is_breaking(write):
    document = diff_json(SPEC, write("2023-10-25", after_2023_10_25()), 1)
    expected_tls = {"amd64": (3968, 3984), "arm64": (4024, 4040)}
    for arch in ARCHS:
        found = changes_of(document, arch)
        assert found[("field-removed", "ThreadContext.acked")]["breaking"]
        for name in ("acked_time", "state_changed_time"):
            added = found[("field-added-overlap", f"ThreadContext.{name}")]
            assert added["breaking"] and "over bytes the old layout used" in added["detail"]
        old, new = expected_tls[arch]
        assert found[("field-moved", "ThreadContext.tls")]["detail"] == f"offset {old} -> {new} (+16)"
        assert found[("field-moved", "ThreadContext.debug")]["breaking"]
        assert "+16" in found[("struct-grown", "ThreadContext")]["detail"]
        # Still within its 4096-byte slot: the other contexts stay where they were.
        within = found[("region-element-grown", "ThreadContexts.contexts")]
        assert within["breaking"] is False and within["detail"].endswith("within its stride 4096")
        untouched = ("signo", "state", "thread_id", "sentry_fast_path")
        assert not any(subject == f"ThreadContext.{name}" for _, subject in found for name in untouched)


def test_text_output_names_each_change_and_the_verdict(write):
    result = run_cli("abi-diff", SPEC, write("new", after_2023_10_25()))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("abi-diff ") and lines[1] == "amd64:"
    assert any("BREAKING" in line and "field-removed" in line and "ThreadContext.acked" in line for line in lines)
    # sysmsg names its writers, so a field pushed onto another cache line is said too: arm64's
    # tls (4024 -> 4040) crosses from line 62 into 63, amd64's (3968 -> 3984) stays on 62.
    crossed = [at for at, line in enumerate(lines) if "field-line-changed" in line]
    assert len(crossed) == 1 and crossed[0] > lines.index("arm64:")
    assert lines[crossed[0]].strip() == "compatible  field-line-changed    ThreadContext.tls: cache line 62 -> 63"
    assert lines[-1] == "12 breaking and 3 compatible change(s): BREAKING"


@pytest.mark.parametrize("old, new, kind, subject", [
    ("      - name: INITIALIZING\n        doc: Set once when the thread is created, before it owns a context.\n",
     "      - name: INITIALIZING\n        doc: Set once when the thread is created, before it owns a context.\n"
     "      - name: ZOMBIE\n        doc: A new state at the end.\n",
     "enum-value-added", "ThreadState.ZOMBIE"),
    ("      - name: thread_id\n        type: u32\n        doc: Identifier of this stub thread.\n\n",
     "      - name: thread_id\n        type: u32\n        doc: Identifier of this stub thread.\n"
     "      - name: flags\n        type: u32\n        doc: New, in what was tail padding.\n\n",
     "field-added", "Msg.flags"),
    ("structs:\n", "structs:\n  Extra:\n    fields:\n      - {name: x, type: u64}\n", "struct-added", "Extra"),
    ("    doc: Identifier of this stub thread.\n", "    doc: The number of this stub thread.\n",
     "doc-changed", "Msg.thread_id"),
    ("      - name: err_line\n", "      - name: error_line\n", "field-renamed", "Msg.err_line"),
])
def test_compatible_changes_exit_0(old, new, kind, subject, write):
    document = diff_json(SPEC, write("new", edited(CURRENT, old, new)), 0)
    assert document["breaking"] is False
    for arch in ARCHS:
        change = changes_of(document, arch)[(kind, subject)]
        assert change["breaking"] is False, change


@pytest.mark.parametrize("old, new, kind, subject", [
    ("      - name: PREP\n", "      - name: WAKING\n        doc: Inserted in the middle.\n      - name: PREP\n",
     "enum-value-renumbered", "ThreadState.PREP"),
    ("  SPINNING_QUEUE_MEM_SIZE:\n    value: PAGE_SIZE\n", "  SPINNING_QUEUE_MEM_SIZE:\n    value: 2 * PAGE_SIZE\n",
     "constant-changed", "SPINNING_QUEUE_MEM_SIZE"),
    ("      - name: interrupt\n        type: u32\n        go: interrupt\n",
     "      - name: interrupt\n        type: u64\n        go: interrupt\n", "field-retyped", "Msg.interrupt"),
    ("        size: PER_THREAD_PRIVATE_STACK_SIZE\n", "        size: PAGE_SIZE\n",
     "region-moved", "PerThreadMem.private_stack"),
])
def test_breaking_changes_exit_1(old, new, kind, subject, write):
    document = diff_json(SPEC, write("new", edited(CURRENT, old, new)), 1)
    for arch in ARCHS:
        assert changes_of(document, arch)[(kind, subject)]["breaking"] is True


def test_a_resized_struct_is_breaking_where_another_struct_embeds_it(write):
    text = edited(CURRENT, "          - {name: pstate, type: u64}\n",
                  "          - {name: pstate, type: u64}\n          - {name: extra, type: u64}\n")
    document = diff_json(SPEC, write("new", text), 1)
    arm64 = changes_of(document, "arm64")
    assert arm64[("struct-grown", "PtraceRegs")]["breaking"] is True
    assert arm64[("field-added-tail", "PtraceRegs.extra")]["breaking"] is True  # old code copies the old size
    assert arm64[("field-resized", "ThreadContext.ptregs")]["breaking"] is True
    assert changes_of(document, "amd64") == {}


def test_same_spec_has_no_changes_and_the_diff_alias_works():
    result = run_cli("diff", SPEC, SPEC)
    assert result.returncode == 0 and result.stdout.splitlines()[-1] == "no layout changes"


def test_git_revisions_as_inputs(tmp_path):
    def git(*args):
        done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    (tmp_path / "spec.yaml").write_text(before_2023_03_14())
    git("init", "-q")
    git("add", "spec.yaml")
    git("commit", "-q", "-m", "old")
    (tmp_path / "spec.yaml").write_text(CURRENT)
    result = subprocess.run([sys.executable, "-m", "codegen", "abi-diff", "git:HEAD:spec.yaml", "spec.yaml"],
                            cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 1, result.stderr
    assert re.search(r"constant-changed +MAX_FPSTATE_LEN: 3648 -> 3584", result.stdout)
    missing = subprocess.run([sys.executable, "-m", "codegen", "abi-diff", "git:HEAD:nope.yaml", "spec.yaml"],
                             cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert missing.returncode == 2 and missing.stderr.startswith("layoutgen abi-diff: git:HEAD:nope.yaml")


def test_a_bad_spec_is_exit_2(write):
    result = run_cli("abi-diff", SPEC, write("bad", "layoutgen: 1\n"))
    assert result.returncode == 2 and "missing the required key" in result.stderr


# ---- spec parameters ---------------------------------------------------------------------


PAGEX = os.path.join(ROOT, "tests", "cases", "page_size_axis", "spec.yaml")
PAGEX_TEXT = open(PAGEX).read()
PAGEX_ARCHS = declared_archs(PAGEX)
KEYS = [f"{arch}{key}" for arch in PAGEX_ARCHS for key in ("", "_16k", "_64k")]


def by_combination(document) -> dict:
    found: dict = {}
    for change in document["changes"]:
        found.setdefault(change.get("combination"), []).append(change)
    return found


def test_a_changed_64k_rule_is_reported_on_the_64k_combinations_only(write):
    text = PAGEX_TEXT.replace("? 5 : 8", "? 6 : 8")
    assert text.count("? 6 : 8") == 2
    document = diff_json(PAGEX, write("new", text), 1)
    found = by_combination(document)
    assert sorted(found) == sorted(f"{arch}_64k" for arch in PAGEX_ARCHS)
    for arch in PAGEX_ARCHS:
        changes = {(c["kind"], c["subject"]): c for c in found[f"{arch}_64k"]}
        for part in ("Stub.thread0", "Stub.thread0.msg"):  # Msg still fits both parts that hold it
            assert changes.pop(("region-holds-grown", part))["breaking"] is False
        assert all(c["arch"] == arch and c["params"] == {"page_size": 65536} and c["breaking"]
                   for c in changes.values())
        assert changes[("constant-changed", "PER_THREAD_PAGES")]["detail"] == "5 -> 6"
        assert changes[("struct-grown", "Msg")]["detail"].startswith("size 48 -> 56 (+8)")
        assert ("region-moved", "Stub.thread0") in changes
    result = run_cli("abi-diff", PAGEX, write("new", text))
    headings = [line for line in result.stdout.splitlines() if line.endswith(":")]
    assert headings == [f"{arch}_64k (page_size = 65536):" for arch in PAGEX_ARCHS]


def test_a_removed_value_is_breaking_and_an_added_one_compatible(write):
    fewer = write("fewer", edited(PAGEX_TEXT, "values: [4096, 16384, 65536]", "values: [4096, 65536]"))
    removed = diff_json(PAGEX, fewer, 1)["changes"]
    assert [(c["kind"], c["subject"], c["breaking"]) for c in removed] == \
        [("combination-removed", f"{arch}_16k", True) for arch in PAGEX_ARCHS]
    assert removed[0]["detail"] == "page_size = 16384 is not a value of the new spec"
    added = diff_json(fewer, PAGEX, 0)["changes"]
    assert [(c["kind"], c["subject"], c["breaking"]) for c in added] == \
        [("combination-added", f"{arch}_16k", False) for arch in PAGEX_ARCHS]


def test_an_added_parameter_keeps_the_old_layout_as_its_default(write):
    """A spec without the parameter (4096 written out) meets the new spec's default
    combinations; the other values are new combinations, and the reverse removes them."""
    block = ("params:\n  page_size:\n    values: [4096, 16384, 65536]\n    default: 4096\n"
             "    doc: The kernel's page size in bytes.\n")
    before = write("old", edited(PAGEX_TEXT, block, "").replace("page_size", "4096"))
    document = diff_json(before, PAGEX, 0)
    assert [(c["kind"], c["combination"]) for c in document["changes"]] == \
        [("combination-added", key) for key in KEYS if key not in PAGEX_ARCHS]
    assert document["changes"][0]["detail"] == "the old spec has no parameter page_size (here 16384)"
    assert [(c["kind"], c["subject"], c["breaking"]) for c in diff_json(PAGEX, before, 1)["changes"]] == \
        [("combination-removed", key, True) for key in KEYS if key not in PAGEX_ARCHS]


def test_a_changed_default_is_breaking_and_combinations_match_by_value(write):
    document = diff_json(PAGEX, write("new", edited(PAGEX_TEXT, "default: 4096", "default: 65536")), 1)
    assert [(c["arch"], c["kind"], c["subject"]) for c in document["changes"]] == \
        [("", "param-default-changed", "page_size")]
    assert "combination" not in document["changes"][0]


def test_an_unchanged_spec_with_parameters_has_no_changes():
    result = run_cli("abi-diff", PAGEX, PAGEX)
    assert result.returncode == 0 and result.stdout.splitlines()[-1] == "no layout changes"


# ---- anonymous members: compared as the parent's own members ----------------------------

ANON = os.path.join(ROOT, "tests", "cases", "anonymous", "spec.yaml")
ANON_TEXT = open(ANON).read()


def test_anonymous_members_are_named_through_their_parent(tmp_path):
    changed = tmp_path / "changed.yaml"
    changed.write_text(ANON_TEXT.replace("{name: sample_freq, type: u64}", "{name: sample_freq, type: u32}"))
    result = run_cli("abi-diff", ANON, str(changed), "--format", "json")
    assert result.returncode == 1, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert {(c["arch"], c["kind"], c["subject"]) for c in changes} == \
        {(arch, "field-retyped", "Attr.sample_freq") for arch in declared_archs(ANON)}


def test_inserting_an_anonymous_member_moves_what_follows_not_the_generated_names(tmp_path):
    """A new anonymous union in front renumbers the hidden declarations; the diff still pairs
    members by the names C uses, and reports the real moves."""
    changed = tmp_path / "changed.yaml"
    changed.write_text(ANON_TEXT.replace("      - {name: type, type: u32}\n",
                                         "      - union: [{name: early, type: u32}]\n      - {name: type, type: u32}\n", 1)
                       .replace("  - expr: offsetof(Attr, sample_freq) == 8\n", ""))
    result = run_cli("abi-diff", ANON, str(changed), "--format", "json")
    assert result.returncode == 1, result.stderr
    changes = json.loads(result.stdout)["changes"]
    subjects = {c["subject"] for c in changes if c["arch"] == "amd64"}
    assert "Attr.early" in subjects and "Attr.type" in subjects and "Attr.sample_period" in subjects
    assert not any("Anon" in c["subject"] for c in changes)


# ---- growing structs: the tail-growth policy --------------------------------------------


GROWING = """\
layoutgen: 1
name: grow
archs: [amd64, arm64]
structs:
  Attr:
{extensible}    fields:
      - {{name: size, type: u32}}
      - {{name: flags, type: u32}}
{tail}regions:
  Table:
    size: 4096
    parts:
      - {{name: attrs, offset: 0, size: 4096, holds: Attr, count: 64, stride: {stride}}}
"""
EXTENSIBLE = "    extensible: {size_field: size}\n"
WIDER = "      - {name: extra, type: u32}\n"


def growing(extensible="", tail="", stride=64) -> str:
    return GROWING.format(extensible=extensible, tail=tail, stride=stride)


def kinds(document) -> dict:
    """(kind, subject) -> breaking, the same on both arches (asserted)."""
    per_arch = [{key: c["breaking"] for key, c in changes_of(document, arch).items()} for arch in ARCHS]
    assert per_arch[0] == per_arch[1]
    return per_arch[0]


def test_a_struct_grown_at_its_tail_is_breaking(write):
    document = diff_json(write("old", growing()), write("new", growing(tail=WIDER)), 1)
    found = kinds(document)
    assert found[("field-added-tail", "Attr.extra")] is True
    assert found[("struct-grown", "Attr")] is True
    # Each element still fits its 64-byte slot: noted, and compatible for the other elements.
    assert found[("region-element-grown", "Table.attrs")] is False


def test_a_field_in_reserved_bytes_is_compatible(write):
    old = growing(tail="      - {reserved: 4}\n")
    new = growing(tail="      - {name: extra, type: u32}\n")
    document = diff_json(write("old", old), write("new", new), 0)
    assert kinds(document) == {("field-added-reserved", "Attr.extra"): False}


def test_an_extensible_struct_grows_compatibly(write):
    document = diff_json(write("old", growing(EXTENSIBLE)), write("new", growing(EXTENSIBLE, WIDER)), 0)
    assert kinds(document) == {("field-added-tail-extensible", "Attr.extra"): False,
                               ("struct-grown-extensible", "Attr"): False,
                               ("region-element-grown", "Table.attrs"): False}
    text = run_cli("abi-diff", write("old", growing(EXTENSIBLE)), write("new", growing(EXTENSIBLE, WIDER))).stdout
    assert "struct-grown-extensible" in text and "(by its field size)" in text


def test_extensible_must_hold_in_the_old_version_too(write):
    """Old readers that never read `size` cannot skip what they do not know."""
    document = diff_json(write("old", growing()), write("new", growing(EXTENSIBLE, WIDER)), 1)
    found = kinds(document)
    assert found[("extensible-added", "Attr")] is False and found[("struct-grown", "Attr")] is True


def test_a_changed_stride_is_breaking(write):
    document = diff_json(write("old", growing()), write("new", growing(stride=32)), 1)
    assert kinds(document) == {("region-stride-changed", "Table.attrs"): True}


def test_the_stride_check_refuses_an_element_grown_past_its_stride(write):
    result = run_cli("abi-diff", write("old", growing(stride=8)), write("new", growing(tail=WIDER, stride=8)))
    assert result.returncode == 2 and "stride 8 is less than the size of Attr (12 bytes" in result.stderr


def test_every_kind_recorded_has_one_verdict_and_a_reason():
    from codegen.tools import abidiff
    source = open(abidiff.__file__).read()
    recorded = set(re.findall(r'Change\((?:arch|"")\s*,\s*"([a-z-]+)"', source))
    recorded |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)" if ', source))
    recorded |= set(re.findall(r' else "([a-z]+(?:-[a-z]+)+)"', source))
    recorded |= set(re.findall(r'kind, where = "([a-z-]+)"', source))
    assert len(recorded) > 40 and recorded <= set(abidiff.KINDS), recorded - set(abidiff.KINDS)
    assert all(isinstance(breaking, bool) and reason for breaking, reason in abidiff.KINDS.values())


PERF = os.path.join(ROOT, "examples", "linux", "perf.yaml")
SIG_DATA = "      - {name: sig_data, type: u64}\n"


def test_perf_event_attr_growing_by_sig_data_is_compatible_by_its_size_field(write):
    """Linux 5.13 appended sig_data to perf_event_attr (PERF_ATTR_SIZE_VER6 120 -> VER7 128);
    callers built before it pass size 120 and the kernel zero-fills the rest."""
    current = open(PERF).read()
    document = diff_json(write("ver6", edited(current, SIG_DATA, "")), PERF, 0)
    for arch in declared_archs(PERF):  # the size field makes it compatible on every ABI
        found = changes_of(document, arch)
        assert found[("struct-grown-extensible", "PerfEventAttr")]["detail"] == \
            "size 120 -> 128 (+8) (by its field size)"
        assert found[("field-added-tail-extensible", "PerfEventAttr.sig_data")]["breaking"] is False
    # Without the declaration the same growth breaks: old code copies 120 bytes.
    plain = edited(current, "    extensible: {size_field: size}", "   ")
    document = diff_json(write("ver6-plain", edited(plain, SIG_DATA, "")), write("ver7-plain", plain), 1)
    assert changes_of(document, "amd64")[("struct-grown", "PerfEventAttr")]["breaking"] is True


# ---- layout changes and changes that move no byte -----------------------------------------

NAMING = """\
layoutgen: 1
name: naming
archs: [amd64, arm64]
constants:
  LIMIT: 7
enums:
  Mode:
    type: u32
    values: [{{name: IDLE}}, {{name: BUSY}}]
structs:
  Rec:
    doc: {doc}
    fields:
      - {{name: mode, type: {mode}}}
      - {{name: ready, type: {flag}}}
{spare}      - {{name: {count}, type: u64}}
"""
OLD_NAMING = dict(doc="Before.", mode="Mode", flag="bool8", count="count",
                  spare="      - {pad: 3, c: __pad0}\n      - {reserved: 4, c: __spare}\n")
# The same bytes, named and typed as a header would: the enum and the flag as plain integers,
# the padding and the reserved bytes as fields under their C names, the constant gone.
NEW_NAMING = dict(doc="After.", mode="u32", flag="u8", count="total",
                  spare="      - {name: pad0, type: 'u8[3]', c: __pad0}\n      - {name: spare, type: u32, c: __spare}\n")


def naming_spec(**values) -> str:
    text = NAMING.format(**values)
    if values.get("drop_declarations"):  # what a header describing Rec would not declare
        text = text[:text.index("constants:")] + text[text.index("structs:"):]
    return text


def test_names_docs_and_same_representation_types_are_no_layout_change(write):
    old = write("old", naming_spec(**OLD_NAMING))
    new = write("new", naming_spec(**NEW_NAMING, drop_declarations=True))
    document = diff_json(old, new, 0)
    assert document["breaking"] is False and document["layout"] is False
    found = changes_of(document, "amd64")
    assert set(found) == {("constant-removed", "LIMIT"), ("enum-removed", "Mode"), ("doc-changed", "Rec"),
                          ("field-retyped-same-bytes", "Rec.mode"), ("field-retyped-same-bytes", "Rec.ready"),
                          ("field-names-spare", "Rec.pad0"), ("field-names-spare", "Rec.spare"),
                          ("field-renamed", "Rec.count")}, found
    assert all(c["layout"] is False and c["breaking"] is False for c in document["changes"])
    lines = run_cli("abi-diff", old, new).stdout.splitlines()
    assert lines[1].endswith("declarations on one side only):") and lines[2] == "  amd64:"
    assert lines[-1] == "no layout changes"


@pytest.mark.parametrize("edit, kind, subject", [
    (("type: Mode}", "type: Mode, endian: big}"), "field-retyped", "Rec.mode"),  # byte order
    (("bool8", "i8"), "field-retyped", "Rec.ready"),  # signedness
    (("{pad: 3, c: __pad0}", "{name: pad0, type: 'u8[2]', c: __pad0}"), "field-added", "Rec.pad0"),  # part only
])
def test_byte_order_signedness_and_new_bytes_are_layout_changes(edit, kind, subject, write):
    text = naming_spec(**OLD_NAMING)
    old, new = write("old", text), write("new", edited(text, *edit))
    document = json.loads(run_cli("abi-diff", "--format", "json", old, new).stdout)
    change = changes_of(document, "amd64")[(kind, subject)]
    assert change["layout"] is True and document["layout"] is True
    assert run_cli("abi-diff", old, new).stdout.splitlines()[-1] != "no layout changes"


def test_what_changes_no_byte_is_never_breaking():
    from codegen.tools import abidiff
    assert abidiff.NOT_LAYOUT < set(abidiff.KINDS)
    assert not any(abidiff.KINDS[kind][0] for kind in abidiff.NOT_LAYOUT)
