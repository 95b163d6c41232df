"""The Go target as its users meet it: a gofmt/vet-clean package whose layout tests pass on amd64
and (under qemu) arm64, that code written against the seed compiles against, and that refuses
what Go cannot lay out."""
from __future__ import annotations

import os
import re
import textwrap

import pytest

from codegen import pipeline
from codegen.check import drift
from codegen.check import go as go_check
from codegen.check.toolchain import require, run
from codegen.targets import go as go_target
from conftest import ARCHS, GENERATED, ROOT, SPEC, run_cli

MODULE = go_target.MODULE.format(name="sysmsg")


@pytest.fixture
def package(generate):
    """A fresh generation from the sysmsg spec; returns (output folder, Go package folder)."""
    out = generate(SPEC)
    return out, out / "go" / "sysmsg"


def _go(*args, cwd, goarch):
    return run([require("go"), *args], cwd=str(cwd), env=go_check.go_env(GOARCH=goarch))


# ---- (1) the package passes gofmt, vet and its own layout tests -------------


def test_package_is_clean_and_its_layout_tests_pass_on_both_arches(package):
    out, _ = package
    spec, layouts = pipeline.build(SPEC)
    assert go_check.check(spec, layouts, str(out)) == []


def test_layout_tests_check_every_field_of_every_struct():
    spec, layouts = pipeline.build(SPEC)
    for arch in ARCHS:
        groups = go_target.layout_facts(spec, layouts[arch])
        whats = {fact.what for _, _, facts in groups for fact in facts}
        for name, struct in layouts[arch].structs.items():
            assert f"{name}: size" in whats
            for slot in struct.fields:
                assert f"{name}.{slot.field.names.canonical}: offset" in whats
        assert "constant MAX_FPSTATE_LEN" in whats and "ContextState.SYSCALL_NEED_TRAP" in whats
        # SignalInfo's 8-byte alignment comes from an `align` key; Go only promises 4.
        assert "SignalInfo: alignment" not in whats and "ThreadContext.siginfo: alignment" not in whats
        assert "Msg: alignment" in whats


def test_a_wrong_layout_fails_the_go_tests_naming_the_spec_field(package, tmp_path):
    out, folder = package
    test_file = folder / "layout_amd64_test.go"
    text = test_file.read_text()
    broken = text.replace('"Msg.err_line: offset", unsafe.Offsetof(v.Line), 64)',
                          '"Msg.err_line: offset", unsafe.Offsetof(v.Line), 68)')
    assert broken != text
    test_file.write_text(broken)
    spec, layouts = pipeline.build(SPEC)
    problems = go_check.check(spec, layouts, str(out))
    assert len(problems) == 1 and "GOARCH=amd64" in problems[0]
    assert "Msg.err_line: offset: Go has 64, the spec says 68" in problems[0]


def test_the_package_refuses_to_build_for_an_arch_the_spec_lacks(package):
    _, folder = package
    result = _go("build", ".", cwd=folder, goarch="riscv64")
    assert result.returncode != 0
    assert "build constraints exclude all Go files" in result.stderr


def test_go_files_open_with_the_generated_code_marker(package):
    _, folder = package
    sources = sorted(p for p in os.listdir(folder) if p.endswith(".go"))
    assert sources == ["layout_amd64_test.go", "layout_arm64_test.go", "sysmsg.go", "sysmsg_amd64.go",
                       "sysmsg_arm64.go"]
    for name in sources:
        first = (folder / name).read_text().splitlines()[0]
        assert re.match(r"^// Code generated .* DO NOT EDIT\.$", first), name


def test_go_blocks_pair_with_c_and_python_both_ways(package):
    out, folder = package
    header = (out / "c" / "sysmsg.h").read_text()
    python = (out / "python" / "sysmsg" / "arm64.py").read_text()
    for name in ("sysmsg.go", "sysmsg_amd64.go", "sysmsg_arm64.go"):
        assert f"../go/sysmsg/{name}:layout" in header
        assert f"../../go/sysmsg/{name}:layout" in python
        text = (folder / name).read_text()
        assert "// LINT" + ".IfChange(layout)" in text  # split so the checker does not see a block here
        assert "../../c/sysmsg.h:layout" in text and "../../python/sysmsg/amd64.py:layout" in text


# ---- (2) code written against the seed compiles unchanged --------------------

SEED_CLIENT = """\
package client

import (
	"sync/atomic"

	"{module}"
)

// Typed constants keep their seed types; untyped ones mix with uintptr arithmetic.
var (
	memSize      uintptr = sysmsg.PerThreadMemSize
	guard        uintptr = sysmsg.GuardSize
	privateStart uintptr = sysmsg.PerThreadPrivateStackOffset
	privateSize  uintptr = sysmsg.PerThreadPrivateStackSize
	sharedSize   uintptr = sysmsg.PerThreadSharedStackSize
	sharedStart  uintptr = sysmsg.PerThreadSharedStackOffset
	queueSize    uintptr = sysmsg.SpinningQueueMemSize
	fpLen        uint32  = sysmsg.MaxFPStateLen
	allocated    uintptr = sysmsg.AllocatedSizeofThreadContextStruct
)

func stackAddrToMsg(sp uintptr) uintptr {{
	return sp + sysmsg.MsgOffsetFromSharedStack
}}

func syshandlerStack(sp uintptr) uintptr {{
	return sp + sysmsg.PerThreadPrivateStackOffset + sysmsg.PerThreadPrivateStackSize
}}

func states() bool {{
	var s sysmsg.ThreadState
	s.Set(sysmsg.ThreadStateDone)
	swapped := s.CompareAndSwap(sysmsg.ThreadStateDone, sysmsg.ThreadStatePrep)
	all := []sysmsg.ThreadState{{sysmsg.ThreadStateNone, sysmsg.ThreadStateAsleep, sysmsg.ThreadStateInitializing}}
	var c sysmsg.ContextState
	c.Set(sysmsg.ContextStateSyscallCanBePatched)
	contexts := []sysmsg.ContextState{{sysmsg.ContextStateNone, sysmsg.ContextStateSyscall,
		sysmsg.ContextStateFault, sysmsg.ContextStateSyscallTrap, sysmsg.ContextStateInvalid}}
	return swapped && s.Get() == all[0] && c.Get() == contexts[0]
}}

func fillMsg(m *sysmsg.Msg, threadID uint32) {{
	var self, ret, handler, handlerStack, app, context, debug uint64 = m.Self, m.RetAddr, m.Syshandler,
		m.SyshandlerStack, m.AppStack, m.Context, m.Debug
	var state sysmsg.ThreadState = m.State
	var jump, err, line int32 = m.FaultJump, m.Err, m.Line
	_, _, _, _, _, _, _, _, _, _, _ = self, ret, handler, handlerStack, app, context, debug, state, jump, err, line
	m.Err = 0
	m.Line = -1
	m.ThreadID = threadID
	m.Context = 0
	m.State.Set(sysmsg.ThreadStateNone)
}}

func fillContext(c *sysmsg.ThreadContext, threadID uint32) uint64 {{
	var fp [sysmsg.MaxFPStateLen]byte = c.FPState
	var changed uint64 = c.FPStateChanged
	var regs sysmsg.PtraceRegs = c.Regs
	var info sysmsg.SignalInfo = c.SignalInfo
	var signo, errno, code int32 = info.Signo, info.Errno, info.Code
	var fields [112]byte = c.SignalInfo.Fields
	var sig int64 = c.Signo
	var state sysmsg.ContextState = c.State
	var interrupt, thread, last, fast, acked uint32 = c.Interrupt, c.ThreadID, c.LastThreadID,
		c.SentryFastPath, c.Acked
	var tls uint64 = c.TLS
	_, _, _, _, _, _, _, _, _, _ = fp, changed, regs, signo, errno, code, fields, sig, state, interrupt
	_, _, _, _, _ = thread, last, fast, acked, tls
	c.FPStateChanged = 1
	c.Regs = sysmsg.PtraceRegs{{}}
	c.Signo = 0
	c.SignalInfo = sysmsg.SignalInfo{{}}
	c.State = sysmsg.ContextStateNone
	c.ThreadID = threadID
	var arch sysmsg.ArchState
	_ = arch
	return atomic.LoadUint64(&c.Debug)
}}
"""

SEED_CLIENT_AMD64 = """\
package client

import "{module}"

func registers(c *sysmsg.ThreadContext) []uint64 {{
	r := &c.Regs
	return []uint64{{r.R15, r.R14, r.R13, r.R12, r.Rbp, r.Rbx, r.R11, r.R10, r.R9, r.R8, r.Rax, r.Rcx,
		r.Rdx, r.Rsi, r.Rdi, r.Orig_rax, r.Rip, r.Cs, r.Eflags, r.Rsp, r.Ss, r.Fs_base, r.Gs_base,
		r.Ds, r.Es, r.Fs, r.Gs}}
}}

func instructionPointer(c *sysmsg.ThreadContext) uint64 {{
	return c.Regs.Rip
}}
"""

SEED_CLIENT_ARM64 = """\
package client

import "{module}"

func registers(c *sysmsg.ThreadContext) []uint64 {{
	var general [31]uint64 = c.Regs.Regs
	return append(general[:], c.Regs.Sp, c.Regs.Pc, c.Regs.Pstate)
}}

func instructionPointer(c *sysmsg.ThreadContext) uint64 {{
	return c.Regs.Pc
}}
"""

# Reaching into what the seed keeps unexported must fail, as it does against the seed.
PRIVATE_CLIENT = """\
package client

import "{module}"

func private(m *sysmsg.Msg, a *sysmsg.ArchState) uint32 {{
	return m.interrupt + a.xsaveMode + a.fpLen + a.fsgsbase + sysmsg.fxsave
}}
"""


def _client_module(tmp_path, package_folder, files: dict):
    folder = tmp_path / "client"
    folder.mkdir()
    (folder / "go.mod").write_text(textwrap.dedent(f"""\
        module client.example/seedcompat

        go 1.19

        require {MODULE} v0.0.0

        replace {MODULE} => {package_folder}
        """))
    for name, text in files.items():
        (folder / name).write_text(text.format(module=MODULE))
    return folder


@pytest.mark.parametrize("goarch", ARCHS)
def test_code_written_against_the_seed_compiles(package, tmp_path, goarch):
    _, folder = package
    client = _client_module(tmp_path, folder, {"client.go": SEED_CLIENT, "client_amd64.go": SEED_CLIENT_AMD64,
                                               "client_arm64.go": SEED_CLIENT_ARM64})
    for command in (("build", "./..."), ("vet", "./...")):
        result = _go(*command, cwd=client, goarch=goarch)
        assert result.returncode == 0, result.stderr


def test_the_seeds_unexported_names_stay_unexported(package, tmp_path):
    _, folder = package
    client = _client_module(tmp_path, folder, {"client.go": PRIVATE_CLIENT})
    result = _go("build", "./...", cwd=client, goarch="amd64")
    assert result.returncode != 0
    for name in ("interrupt", "xsaveMode", "fpLen", "fsgsbase", "fxsave"):
        assert name in result.stderr, result.stderr


# ---- (3) what Go cannot lay out is refused -----------------------------------

PACKED = """\
layoutgen: 1
name: tight
archs: [amd64, arm64]
structs:
  Tight:
    packed: true
    fields:
      - {name: tag, type: u8}
      - {name: value, type: u32}
"""

OVER_ALIGNED = """\
layoutgen: 1
name: wide
archs: [amd64, arm64]
structs:
  Wide:
    fields:
      - {name: head, type: u32}
      - {name: body, type: u32, align: 8}
"""

# Over-alignment that moves nothing is fine: the same offsets and sizes as Go's natural layout.
HARMLESS_ALIGN = """\
layoutgen: 1
name: harmless
archs: [amd64, arm64]
structs:
  Info:
    align: 8
    fields:
      - {name: a, type: i32}
      - {name: b, type: i32}
  Outer:
    fields:
      - {name: x, type: u64}
      - {name: info, type: Info}
"""


# i386's C ends the struct at the array (12 bytes), and Go's byte after it rounds to 16; armhf's C
# has tail padding there (16), which Go reaches with bytes after the array, so only i386 is named.
FLEX_ON_I386 = """\
layoutgen: 1
name: flexy
archs: [amd64, armhf, i386]
structs:
  Packet:
    fields:
      - {name: length, type: u64}
      - {name: kind, type: u32}
      - {name: data, type: "u8[]"}
"""


@pytest.mark.parametrize("text, where, words", [
    (PACKED, (9, 9), ("struct Tight", "it is packed", "field value at offset 1", "Go would put it at 4")),
    (OVER_ALIGNED, (8, 9), ("struct Wide", "align override", "field body at offset 8", "Go would put it at 4")),
    (FLEX_ON_I386, (9, 9), ("struct Packet", "on i386 C makes it 12 bytes", "would make it 16")),
])
def test_go_refuses_layouts_it_cannot_express(tmp_path, text, where, words):
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = run_cli("generate", "--spec", str(spec), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:{where[0]}:{where[1]}: the Go target cannot express "), first
    for word in words:
        assert word in first
    assert "targets: [c, python]" in first
    assert not (tmp_path / "out").exists()


def test_a_spec_that_leaves_go_out_generates_no_go(generate):
    out = generate("targets: [c, python]\n" + PACKED)
    assert not (out / "go").exists()
    assert "go/" not in (out / "c" / "tight.h").read_text()


def test_over_alignment_that_moves_nothing_is_accepted(generate):
    out = generate(HARMLESS_ALIGN)
    folder = out / "go" / "harmless"
    text = (folder / "layout_amd64_test.go").read_text()
    assert '"Info: alignment"' not in text and '"Outer.info: alignment"' not in text
    assert '"Outer.info: offset", unsafe.Offsetof(v.Info), 8)' in text
    host = go_check.host_arch(require("go"), str(folder))
    for arch in ARCHS:
        flags = go_check.exec_flags(arch, arch, host)
        result = _go("test", "-count=1", *flags, "./...", cwd=folder, goarch=arch)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("keys, message", [
    ("go_accessors: [set]\n    go_untyped: true", "has go_accessors but go_untyped: true"),
    ("go_accessors: [set, swap]", "unknown accessor 'swap'"),
    ("go_accessors: [set]\n    go_nosplit: [get]", "go_nosplit may only name methods listed in go_accessors"),
])
def test_bad_go_enum_keys_are_reported(tmp_path, keys, message):
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent("""\
        layoutgen: 1
        name: e
        archs: [amd64]
        enums:
          Mode:
            type: u32
            {keys}
            values: [{{name: A}}]
        """).format(keys=keys))
    result = run_cli("generate", "--spec", str(spec), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert re.match(rf"^{re.escape(str(spec))}:\d+:\d+: .*{re.escape(message)}", result.stderr), result.stderr


# ---- (4) the committed package is what the spec generates --------------------


def test_committed_go_package_matches_a_fresh_generation():
    cwd = os.getcwd()
    os.chdir(ROOT)  # banners name the spec relative to where generation runs
    try:
        fresh = pipeline.generate(os.path.relpath(SPEC, ROOT), "generated")
    finally:
        os.chdir(cwd)
    fresh_go = {path: text for path, text in fresh.items() if path.startswith("go/")}
    on_disk = {path: data for path, data in drift.committed_files(GENERATED).items() if path.startswith("go/")}
    assert len(fresh_go) == 6  # go.mod, the shared and two arch sources, two layout tests
    assert sorted(on_disk) == sorted(fresh_go)
    for path, text in fresh_go.items():
        assert on_disk[path] == text.encode("utf-8"), f"generated/{path} is stale: run `make generate`"
