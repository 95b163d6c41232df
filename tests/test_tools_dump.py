"""`layoutgen dump` decodes bytes that real C code wrote through the generated header: a
program built with gcc (amd64, run natively) and aarch64-linux-gnu-gcc (arm64, run under
qemu-aarch64) fills records with known values and writes them to a file; the decoder
must read back every one of them, by name, offset and enum member."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ARCHS, C_FLAGS, GENERATED, ROOT, compiler, run_cli

WRITER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sysmsg.h"

/* Writes: a 4-byte header, then two struct sysmsg, into argv[1]; one struct thread_context
   into argv[2]. Prints the addresses it stored in the self fields. */
int main(int argc, char **argv) {
  static struct sysmsg msgs[2];
  static struct thread_context ctx;
  if (argc != 3) return 2;
  memset(msgs, 0xa5, sizeof msgs);  /* holes and padding keep this pattern */
  for (int i = 0; i < 2; i++) {
    msgs[i].self = &msgs[i];
    msgs[i].ret_addr = 0x401000 + i;
    msgs[i].syshandler = 0;
    msgs[i].syshandler_stack = 0x7000;
    msgs[i].app_stack = 0;
    msgs[i].interrupt = 0;
    msgs[i].state = THREAD_STATE_ASLEEP;
    msgs[i].context = &ctx;
    msgs[i].fault_jump = 0;
    msgs[i].err = -5;
    msgs[i].err_line = 42 + i;
    msgs[i].debug = 0xdeadbeefULL;
    msgs[i].thread_id = 7 + i;
    printf("%llu\n", (unsigned long long)(unsigned long)&msgs[i]);
  }
  memset(&ctx, 0, sizeof ctx);
  ctx.fpstate[0] = 0x7f;
  ctx.fpstate[MAX_FPSTATE_LEN - 1] = 0x01;
  ctx.state = CONTEXT_STATE_FAULT;
  ctx.siginfo.si_signo = 11;
  ctx.siginfo.si_code = -6;
  ctx.signo = 11;
  ctx.tls = 0x1122334455667788ULL;
#if defined(__x86_64__)
  ctx.ptregs.rip = 0xabcdef;
  ctx.ptregs.orig_rax = 60;
#else
  ctx.ptregs.pc = 0xabcdef;
  ctx.ptregs.regs[8] = 93;
#endif
  FILE *out = fopen(argv[1], "wb");
  if (!out || fwrite("HDR!", 1, 4, out) != 4 || fwrite(msgs, sizeof msgs, 1, out) != 1 || fclose(out)) return 1;
  out = fopen(argv[2], "wb");
  if (!out || fwrite(&ctx, sizeof ctx, 1, out) != 1 || fclose(out)) return 1;
  return 0;
}
"""


def run_built(arch, program, *args):
    """Run a program built for an arch: natively, or under qemu-aarch64 for arm64."""
    command = [str(program)]
    if arch == "arm64":
        qemu = shutil.which("qemu-aarch64")
        assert qemu, "qemu-aarch64 is missing: run `make toolchains`"
        command = [qemu] + command
    ran = subprocess.run(command + [str(a) for a in args], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    return ran


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """arch -> (msgs file, context file, the two self addresses), written by the C program."""
    folder = tmp_path_factory.mktemp("dump")
    source = folder / "writer.c"
    source.write_text(WRITER)
    found = {}
    for arch in ARCHS:
        program = folder / f"writer_{arch}"
        build = subprocess.run([compiler(arch), *C_FLAGS, "-static", "-I", os.path.join(GENERATED, "c"),
                                str(source), "-o", str(program)], capture_output=True, text=True)
        assert build.returncode == 0, build.stderr
        msgs, ctx = folder / f"msgs_{arch}.bin", folder / f"ctx_{arch}.bin"
        ran = run_built(arch, program, msgs, ctx)
        found[arch] = (str(msgs), str(ctx), [int(line) for line in ran.stdout.split()])
    return found


def dump_json(*args):
    result = run_cli("dump", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_name(fields):
    return {field["name"]: field for field in fields}


@pytest.mark.parametrize("arch", ARCHS)
def test_json_reads_back_what_c_wrote(arch, written):
    msgs, _, selves = written[arch]
    document = dump_json("--arch", arch, "--struct", "Msg", msgs, "--offset", "4", "--count", "2")
    assert document["arch"] == arch and document["struct"] == "Msg" and document["size"] == 88
    assert [r["offset"] for r in document["records"]] == [4, 92]
    for index, record in enumerate(document["records"]):
        fields = by_name(record["fields"])
        assert fields["self"]["value"] == selves[index]
        assert fields["ret_addr"]["value"] == 0x401000 + index
        assert fields["state"]["value"] == 3 and fields["state"]["enum_name"] == "ASLEEP"
        assert fields["state"]["enum"] == "ThreadState"
        assert fields["err"]["value"] == -5 and fields["err_line"]["value"] == 42 + index
        assert fields["debug"]["value"] == 0xdeadbeef and fields["thread_id"]["value"] == 7 + index
        assert fields["err_line"]["offset"] == 4 + index * 88 + 64
        assert fields["(hole)"]["hex"] == "a5a5a5a5" and fields["(tail padding)"]["hex"] == "a5a5a5a5"
        assert fields["thread_id"]["hex"] == f"{7 + index:02x}000000"


@pytest.mark.parametrize("arch", ARCHS)
def test_nested_structs_and_arrays(arch, written):
    _, ctx, _ = written[arch]
    document = dump_json("--arch", arch, "--struct", "thread_context", ctx)
    fields = by_name(document["records"][0]["fields"])
    fpstate = fields["fpstate"]
    assert fpstate["type"] == "u8[3584]" and len(fpstate["value"]) == 3584
    assert fpstate["value"][0] == 0x7f and fpstate["value"][-1] == 1 and sum(fpstate["value"]) == 0x80
    assert fields["state"]["enum_name"] == "FAULT"
    siginfo = by_name(fields["siginfo"]["fields"])
    assert siginfo["signo"]["value"] == 11 and siginfo["code"]["value"] == -6
    assert siginfo["__pad0"]["kind"] == "padding"
    regs = by_name(fields["ptregs"]["fields"])
    if arch == "amd64":
        assert regs["rip"]["value"] == 0xabcdef and regs["orig_rax"]["value"] == 60
    else:
        assert regs["pc"]["value"] == 0xabcdef and regs["regs"]["value"][8] == 93
    assert fields["tls"]["value"] == 0x1122334455667788
    assert fields["ptregs"]["offset"] == 3592


def test_text_format_shows_names_offsets_hex_values_and_enum_names(written):
    msgs, ctx, selves = written["amd64"]
    result = run_cli("dump", "--arch", "amd64", "--struct", "sysmsg", msgs, "--offset", "0x4")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Msg #0 on amd64: 88 bytes at file offset 0x4" in text
    assert "ASLEEP (3)" in text and "(hole)" in text and "NOT ZERO" in text
    assert f"{selves[0]:#018x}" in text
    line = next(row for row in text.splitlines() if " err_line " in row)
    assert line.startswith("0x0044  2a 00 00 00") and line.rstrip().endswith("42 (0x2a)")
    nested = run_cli("dump", "--arch", "amd64", "--struct", "ThreadContext", ctx).stdout
    rip = next(row for row in nested.splitlines() if " rip " in row)
    ptregs = next(row for row in nested.splitlines() if " ptregs " in row)
    assert rip.index("rip") > ptregs.index("ptregs"), "nested fields are indented under their struct"


def test_reads_a_live_process_through_proc_mem(tmp_path):
    """The use the command is for: /proc/PID/mem of a running program, at a struct's address."""
    source = tmp_path / "live.c"
    source.write_text('#include <stdio.h>\n#include "sysmsg.h"\n'
                      "static struct sysmsg live = {.thread_id = 99, .state = THREAD_STATE_PREP, .err_line = 7};\n"
                      'int main(void) { printf("%lu\\n", (unsigned long)&live); fflush(stdout);'
                      " getchar(); return live.thread_id == 99 ? 0 : 1; }\n")
    program = tmp_path / "live"
    build = subprocess.run([compiler("amd64"), *C_FLAGS, "-I", os.path.join(GENERATED, "c"), str(source), "-o",
                            str(program)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    process = subprocess.Popen([str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        address = int(process.stdout.readline())
        document = dump_json("--arch", "amd64", "--struct", "Msg", f"/proc/{process.pid}/mem",
                             "--offset", str(address))
    finally:
        process.communicate("\n", timeout=30)
    fields = by_name(document["records"][0]["fields"])
    assert fields["thread_id"]["value"] == 99 and fields["state"]["enum_name"] == "PREP"
    assert fields["err_line"]["value"] == 7 and document["records"][0]["offset"] == address


# ---- spec parameters ---------------------------------------------------------------------


PAGEX = os.path.join(ROOT, "tests", "cases", "page_size_axis", "spec.yaml")
PAGEX_WRITER = r"""
#include <stdio.h>
#include "pagex.h"

/* Two struct msg records, each page entry numbered by record and page. */
int main(int argc, char **argv) {
  static struct msg msgs[2];
  if (argc != 2) return 2;
  for (int i = 0; i < 2; i++) {
    msgs[i].state = 10 + i;
    msgs[i].err = -1 - i;
    for (int p = 0; p < PER_THREAD_PAGES; p++) msgs[i].stack_pages[p] = 100 * i + p;
  }
  FILE *out = fopen(argv[1], "wb");
  return !out || fwrite(msgs, sizeof msgs, 1, out) != 1 || fclose(out);
}
"""


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("size, pages", [(16384, 8), (65536, 5)])
def test_param_decodes_with_that_combinations_layout(arch, size, pages, tmp_path):
    """Records written by C built with -DPAGEX_PAGE_SIZE=N read back with `--param page_size=N`;
    with the default combination's layout instead, the 64K records are misread."""
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", PAGEX, "--out", str(out)).returncode == 0
    source, program, data = tmp_path / "writer.c", tmp_path / f"writer_{arch}", tmp_path / "msgs.bin"
    source.write_text(PAGEX_WRITER)
    build = subprocess.run([compiler(arch), *C_FLAGS, "-static", f"-DPAGEX_PAGE_SIZE={size}",
                            "-I", str(out / "c"), str(source), "-o", str(program)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run_built(arch, program, data)
    document = dump_json("--spec", PAGEX, "--arch", arch, "--struct", "Msg", "--count", "2",
                         "--param", f"page_size={size}", str(data))
    key = f"{arch}_{size >> 10}k"
    assert (document["combination"], document["params"], document["size"]) == (key, {"page_size": size},
                                                                               8 + 8 * pages)
    for index, record in enumerate(document["records"]):
        fields = by_name(record["fields"])
        assert (fields["state"]["value"], fields["err"]["value"]) == (10 + index, -1 - index)
        assert fields["stack_pages"]["value"] == [100 * index + p for p in range(pages)]
    text = run_cli("dump", "--spec", PAGEX, "--arch", arch, "--struct", "Msg", "--param", f"page_size={size}",
                   str(data))
    assert text.stdout.startswith(f"Msg #0 on {key} (page_size = {size}): {8 + 8 * pages} bytes")
    if size == 65536:  # the default layout (72 bytes) reads past the first 48-byte record
        wrong = run_cli("dump", "--spec", PAGEX, "--format", "json", "--arch", arch, "--struct", "Msg", str(data))
        assert wrong.returncode == 0 and json.loads(wrong.stdout)["combination"] == arch
        stack = by_name(json.loads(wrong.stdout)["records"][0]["fields"])["stack_pages"]["value"]
        assert stack[5] != 5


@pytest.mark.parametrize("args, message", [
    (("--spec", PAGEX, "--param", "page_size=8192"), "page_size=8192 is not a declared value"),
    (("--spec", PAGEX, "--param", "pages=1"), "unknown parameter 'pages'"),
    (("--param", "page_size=4096"), "the spec has no parameters"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--offset", "100", "--count", "2"), "file too short"),
    (("--arch", "amd64", "--struct", "Nope", "MSGS"), "unknown struct 'Nope'"),
    (("--arch", "sparc", "--struct", "Msg", "MSGS"), "unknown arch 'sparc'"),
    (("--arch", "amd64", "--struct", "Msg", "/nonexistent/file"), "cannot read"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--count", "0"), "count must be at least 1"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--count", "-3"), "count must be at least 1"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--offset", "-1"), "offset must not be negative"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--offset", "99999999999999999999"),
     "past the largest file offset"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--offset", "0x7fffffffffffffff"), "past the largest file offset"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--count", "99999999999999999999"), "past the largest file offset"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--count", "999999999999"), "file too short"),
    (("--arch", "amd64", "--struct", "Msg", "MSGS", "--offset", "0x100000"), "file too short"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, written):
    args = [written["amd64"][0] if arg == "MSGS" else arg for arg in args]
    if "--struct" not in args:
        args += ["--arch", "amd64", "--struct", "Msg", written["amd64"][0]]
    result = run_cli("dump", *args)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_an_anonymous_member_is_shown_as_such_with_its_members_inside(tmp_path):
    spec = os.path.join(ROOT, "tests", "cases", "anonymous", "spec.yaml")
    data = tmp_path / "framed.bin"
    data.write_bytes(bytes(range(40)))
    result = run_cli("dump", "--spec", spec, "--arch", "amd64", "--struct", "Framed", str(data), "--format", "json")
    assert result.returncode == 0, result.stderr
    fields = json.loads(result.stdout)["records"][0]["fields"]
    anonymous = [f for f in fields if f["name"].startswith("(anonymous")]
    assert [f["name"] for f in anonymous] == ["(anonymous struct)", "(anonymous union)"]
    assert [(c["name"], c["offset"], c["value"]) for c in anonymous[0]["fields"] if c["kind"] == "field"] == \
        [("wide", 8, int.from_bytes(bytes(range(8, 16)), "little")), ("narrow", 16, 16)]
    assert "Anon" not in result.stdout


FLEX = os.path.join(ROOT, "tests", "cases", "flexible_arrays", "spec.yaml")


def _flex_dump(tmp_path, struct, data: bytes, *args):
    path = tmp_path / "flex.bin"
    path.write_bytes(data)
    return run_cli("dump", "--spec", FLEX, "--arch", "amd64", "--struct", struct, str(path), *args)


def test_a_flexible_array_shows_every_byte_to_the_end_of_the_file(tmp_path):
    """Blob is 16 bytes with data at offset 10: the 12 bytes after the header are the array,
    not just the 6 that fit in the struct's tail padding (which is not shown as padding)."""
    payload = bytes(range(1, 13))
    result = _flex_dump(tmp_path, "Blob", (12).to_bytes(8, "little") + b"\x07\x00" + payload, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["size"], document["flexible_bytes"], document["flexible_cut"]) == (16, 12, False)
    fields = document["records"][0]["fields"]
    assert [f["name"] for f in fields] == ["length", "kind", "data"]
    assert (fields[2]["offset"], fields[2]["size"], fields[2]["value"]) == (10, 12, list(payload))
    text = _flex_dump(tmp_path, "Blob", (12).to_bytes(8, "little") + b"\x07\x00" + payload).stdout
    assert "12 bytes from its start to the end of the file" in text and "12 non-zero bytes" in text
    assert "tail padding" not in text


def test_a_nested_flexible_array_and_a_partial_element(tmp_path):
    """Envelope ends in a Blob: its data runs to the end of the file too. Items' 8-byte
    elements: 3 bytes short of a whole element are shown as such, not dropped or decoded."""
    envelope = (5).to_bytes(4, "little") + bytes(4) + (3).to_bytes(8, "little") + b"\x01\x00" + b"abcdefghij"
    result = _flex_dump(tmp_path, "Envelope", envelope, "--format", "json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)["records"][0]["fields"][-1]
    assert body["fields"][-1]["name"] == "data" and bytes(body["fields"][-1]["value"]) == b"abcdefghij"
    element = (7).to_bytes(4, "little") + (8).to_bytes(2, "little") + bytes(2)
    items = (2).to_bytes(8, "little") + bytes(4) + element * 2 + b"xyz"  # entries start at 12
    result = _flex_dump(tmp_path, "Items", items, "--format", "json")
    entries = json.loads(result.stdout)["records"][0]["fields"][-1]
    assert [e["name"] for e in entries["elements"]] == ["[0]", "[1]", "(part of an element)"]
    assert entries["elements"][2]["hex"] == b"xyz".hex()
    assert "3 byte(s) after the last whole element" in _flex_dump(tmp_path, "Items", items).stdout


def test_count_is_refused_for_a_flexible_struct(tmp_path):
    result = _flex_dump(tmp_path, "Blob", bytes(64), "--count", "2")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "ends in a flexible array" in result.stderr, result.stderr
    short = _flex_dump(tmp_path, "Blob", bytes(12))
    assert short.returncode == 2 and "fixed part needs 16" in short.stderr, short.stderr
