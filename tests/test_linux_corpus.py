"""The corpus of real Linux structs (examples/linux/*.yaml), proven against the system headers.

Every struct and union there is an external type: glibc's or the kernel's uapi headers own
the C definition, and the spec only describes it. For each spec and arch, the generated
`_Static_assert`s (sizes, alignments, offsets, member sizes) must compile with that arch's
gcc against its own headers, and the debug info of those headers must list exactly the
members the spec names, at the same offsets and bits (bitfields cannot be named in an
offsetof, so only DWARF sees them). The Go package, where a spec keeps Go, and the Python
parsers are run too, and on this machine's own arch the Python parsers read records the
kernel itself writes. The feature tally is computed from the loaded specs.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import importlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading

import jsonschema
import pytest
import yaml

from codegen import ir, pipeline
from codegen import layout_types as lay
from codegen.layout_walk import visible_slots
from codegen.check import dwarf
from codegen.check import go as go_check
from codegen.check.toolchain import C_COMPILERS
from codegen.tools import schema
from conftest import ARCHS, C_FLAGS, ROOT, compile_c, run_cli

CORPUS = sorted(glob.glob(os.path.join(ROOT, "examples", "linux", "*.yaml")))
MIN_STRUCTS = 15
FEATURES = ("union", "anonymous member", "bitfield", "flexible array", "per-arch packing", "layout differs between arches",
            "byte order", "reserved space", "zero-length array", "packed anonymous member")


def spec_id(path: str) -> str:
    return os.path.basename(path)[:-len(".yaml")]


@functools.lru_cache(maxsize=None)
def built(path: str) -> tuple:
    """(Spec, {arch: Layout}) of one corpus spec, loaded once per session."""
    return pipeline.build(path)


def _keeps_go(path: str) -> bool:
    """Read from the YAML alone, so a broken spec fails its own tests rather than collection."""
    with open(path) as handle:
        return "go" in (yaml.safe_load(handle).get("targets") or ("go",))


GO_SPECS = [path for path in CORPUS if _keeps_go(path)]


def _declared(path: str) -> list:
    with open(path) as handle:
        return yaml.safe_load(handle)["archs"]


# Every (spec, arch) the corpus declares: one compile (and one DWARF read) each.
PAIRS = [pytest.param(path, arch, id=f"{spec_id(path)}-{arch}") for path in CORPUS for arch in _declared(path)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """`generated(path)` generates a corpus spec through the CLI the first time it is asked, and
    returns its output folder; `generated.native(path)` imports its Python package for this host."""
    root, outs, packages = tmp_path_factory.mktemp("linux_corpus"), {}, {}

    def out(path: str):
        if path not in outs:
            folder = root / spec_id(path)
            result = run_cli("generate", "--spec", path, "--out", str(folder))
            assert result.returncode == 0, result.stderr
            outs[path] = folder
        return outs[path]

    def native(name: str):
        path = os.path.join(ROOT, "examples", "linux", f"{name}.yaml")
        package = built(path)[0].name
        if package not in packages:
            packages[package] = str(out(path) / "python")
            sys.path.insert(0, packages[package])
        return importlib.import_module(f"{package}.native")

    out.native = native
    yield out
    for package, folder in packages.items():
        sys.path.remove(folder)
        for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[module]


# ---- the layouts, against the system headers -------------------------------------------------


@pytest.mark.parametrize("path, arch", PAIRS)
def test_layout_asserts_compile_against_the_system_headers(generated, path, arch, tmp_path):
    spec, _ = built(path)
    source = generated(path) / "c" / f"{spec.name}_layout_test.c"
    gcc = shutil.which(C_COMPILERS[arch])
    assert gcc, f"{C_COMPILERS[arch]} is missing: run `make toolchains`"
    result = subprocess.run([gcc, *C_FLAGS, "-c", "-o", str(tmp_path / "asserts.o"), str(source)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"{spec_id(path)} on {arch}:\n{result.stderr}"


@pytest.mark.parametrize("path, arch", PAIRS)
def test_debug_info_of_the_system_headers_matches_every_struct(generated, path, arch):
    spec, layouts = built(path)
    problems, counts = dwarf.check_arch(spec, layouts[arch], str(generated(path)))
    assert not problems, "\n".join(problems)
    assert counts.structs == len(dwarf.named_structs(spec, layouts[arch])), "every struct of the arch must have been compared"


@pytest.mark.parametrize("path", GO_SPECS, ids=spec_id)
def test_go_package_vets_and_its_layout_tests_pass_on_every_arch(generated, path):
    spec, layouts = built(path)
    problems = go_check.check(spec, layouts, str(generated(path)))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CORPUS, ids=spec_id)
def test_generated_python_layout_tests_pass(generated, path):
    python = generated(path) / "python"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                            cwd=python, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _mutated(tmp_path, name: str, old: str, new: str):
    """A corpus spec with one edit, generated into tmp_path: (Spec, layouts, output folder)."""
    with open(os.path.join(ROOT, "examples", "linux", f"{name}.yaml")) as handle:
        text = handle.read()
    assert old in text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1))
    out = tmp_path / "out"
    result = run_cli("generate", "--spec", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    spec, layouts = pipeline.build(str(path))
    return spec, layouts, out


def test_a_struct_described_without_its_packing_fails_the_amd64_asserts(tmp_path):
    spec, _, out = _mutated(tmp_path, "epoll", "    packed: [amd64, i386]\n", "")
    source = str(out / "c" / f"{spec.name}_layout_test.c")
    assert compile_c("arm64", source, "-c", "-o", str(tmp_path / "a.o")).returncode == 0
    failed = compile_c("amd64", source, "-c", "-o", str(tmp_path / "x.o"))
    assert failed.returncode != 0 and "EpollEvent: size: spec says 16" in failed.stderr


def test_a_bitfield_one_bit_too_narrow_is_caught_by_the_debug_info(tmp_path):
    spec, layouts, out = _mutated(tmp_path, "tcp", "tcpi_snd_wscale, type: u8, bits: 4",
                                  "tcpi_snd_wscale, type: u8, bits: 3")
    for arch in ARCHS:  # no assert can take the offset of a bitfield, so only DWARF sees this
        problems, _ = dwarf.check_arch(spec, layouts[arch], str(out))
        assert len(problems) == 1 and "tcpi_rcv_wscale (bits 51..54 -> 52..55)" in problems[0], problems


# ---- what the corpus covers, read from the specs ------------------------------------------------


def _features_of(spec: ir.Spec, layouts: dict, decl) -> set:
    """The features one struct or union exercises."""
    found, members = set(), decl.members
    if isinstance(decl, ir.UnionDecl):
        found.add("union")
    if any(isinstance(m, ir.Field) and m.anonymous for m in members):
        found.add("anonymous member")
    if any(isinstance(m, ir.BitField) and m.names is not None for m in members):
        found.add("bitfield")
    if any(isinstance(m, ir.Field) and isinstance(m.type, ir.FlexArray) for m in members):
        found.add("flexible array")
    if decl.packed and decl.packed != frozenset(spec.archs):
        found.add("per-arch packing")
    if any(isinstance(m, ir.Field) and m.endian == "big" for m in members):  # both archs are little-endian
        found.add("byte order")
    if any(isinstance(m, ir.Reserved) for m in members):
        found.add("reserved space")
    here = [layouts[arch] for arch in spec.archs if decl.names.canonical in layouts[arch].structs]
    if any(isinstance(slot, lay.FieldSlot) and 0 in slot.shape
           for layout in here for slot, _ in visible_slots(layout.structs, decl.names.canonical)):
        found.add("zero-length array")
    if any(isinstance(m, ir.Field) and m.anonymous and spec.struct(m.type.name).packed for m in members):
        found.add("packed anonymous member")
    shapes = {_shape(layouts[arch].structs[decl.names.canonical])
              for arch in spec.archs if decl.names.canonical in layouts[arch].structs}
    if len(shapes) > 1:
        found.add("layout differs between arches")
    return found


def _shape(struct_layout) -> tuple:
    """Size, alignment, every named member's offset and every bitfield's bits: what a reader depends on."""
    named = tuple((slot.field.names.canonical, slot.offset) for slot in struct_layout.named)
    bits = tuple((slot.field.names.canonical, slot.first_bit, slot.bits) for slot in struct_layout.bitfields)
    return struct_layout.size, struct_layout.align, named, bits


def corpus_table() -> dict:
    """{C type: set of features} over the whole corpus; a type described in two specs is one entry."""
    table = {}
    for path in CORPUS:
        spec, layouts = built(path)
        for decl in spec.structs:
            if decl.anonymous:  # counted with its parent
                continue
            table.setdefault(decl.external.c_type if decl.external else decl.names.c, set()).update(
                _features_of(spec, layouts, decl))
    return table


@pytest.mark.parametrize("path", CORPUS, ids=spec_id)
def test_corpus_spec_validates_against_the_json_schema(path):
    document = schema.build()
    with open(path) as handle:
        errors = [e.message for e in jsonschema.Draft7Validator(document).iter_errors(yaml.safe_load(handle))]
    assert not errors


def test_corpus_describes_only_system_types():
    for path in CORPUS:
        local = [d.names.canonical for d in built(path)[0].structs if d.external is None and not d.anonymous]
        assert not local, f"{spec_id(path)} declares types of its own: {local}"


def test_corpus_has_enough_named_structs_and_covers_every_feature():
    table = corpus_table()
    # Members whose type has no tag are named with __typeof__; only tagged or typedef'd types count.
    named = sorted(c_type for c_type in table if not c_type.startswith("__typeof__"))
    assert len(named) >= MIN_STRUCTS, named
    covered = {feature: sorted(c for c, found in table.items() if feature in found) for feature in FEATURES}
    missing = [feature for feature, types in covered.items() if not types]
    assert not missing, f"no corpus struct exercises: {missing}"
    # Spot checks that the tally reads the specs as intended.
    assert "struct epoll_event" in covered["per-arch packing"]
    assert {"struct stat", "mcontext_t", "struct user_regs_struct"} <= set(covered["layout differs between arches"])
    assert "struct tcp_info" in covered["bitfield"] and "struct inotify_event" in covered["flexible array"]
    assert covered["zero-length array"] == covered["packed anonymous member"] == ["struct io_uring_sqe"]


# ---- the Python parsers on records the kernel writes: this machine's arch, through `<package>.native` --


@pytest.fixture(scope="module")
def libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int) -> int:
    if result < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result


def test_epoll_event_built_by_python_comes_back_from_the_kernel(generated, libc):
    epoll = generated.native("epoll")
    cookie = 0x1122334455667788
    event = epoll.EpollEvent.build({"events": select.EPOLLIN, "data": {"u64": cookie}})
    assert len(event) == epoll.EpollEvent.sizeof()
    epfd = _check(libc.epoll_create1(0))
    read_end, write_end = os.pipe()
    try:
        _check(libc.epoll_ctl(epfd, 1, read_end, ctypes.c_char_p(event)))  # EPOLL_CTL_ADD
        os.write(write_end, b"!")
        ready = ctypes.create_string_buffer(epoll.EpollEvent.sizeof() * 2)
        assert _check(libc.epoll_wait(epfd, ready, 2, 5000)) == 1
        back = epoll.EpollEvent.parse(ready.raw)
        assert back.events == select.EPOLLIN and back.data.u64 == cookie
        assert back.data.u32 == cookie & 0xFFFFFFFF
    finally:
        for fd in (epfd, read_end, write_end):
            os.close(fd)


def test_socket_address_port_is_big_endian_and_tcp_info_reads(generated, libc):
    sockets, tcp = generated.native("socket"), generated.native("tcp")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        raw, length = ctypes.create_string_buffer(128), ctypes.c_uint32(128)
        _check(libc.getsockname(server.fileno(), raw, ctypes.byref(length)))
        address = sockets.SockaddrIn.parse(raw.raw[:length.value])
        assert length.value == sockets.SockaddrIn.sizeof()
        assert (address.sin_family, address.sin_port) == (socket.AF_INET, server.getsockname()[1])
        assert address.sin_addr.s_addr == 0x7F000001  # 127.0.0.1, read in network order
        with socket.create_connection(server.getsockname()) as client:
            peer, _ = server.accept()
            with peer:
                data = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, tcp.TcpInfo.sizeof())
    info = tcp.TcpInfo.parse(data)
    assert info.tcpi_state == 1  # TCP_ESTABLISHED
    assert info.tcpi_snd_mss > 0 and info.tcpi_rcv_mss > 0
    assert 0 <= info.tcpi_snd_wscale <= 14 and 0 <= info.tcpi_rcv_wscale <= 14  # RFC 7323's limit


def test_inotify_event_name_is_the_flexible_tail(generated, libc, tmp_path):
    io = generated.native("io")
    fd = _check(libc.inotify_init1(os.O_NONBLOCK))
    try:
        watch = _check(libc.inotify_add_watch(fd, str(tmp_path).encode(), 0x100))  # IN_CREATE
        (tmp_path / "hello.txt").write_bytes(b"")
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    event = io.InotifyEvent.parse(data)
    assert (event.wd, event.mask) == (watch, 0x100)
    assert len(data) == 16 + event.len  # the fixed part, then len bytes of name
    assert bytes(event.name).rstrip(b"\0") == b"hello.txt"


def test_signalfd_record(generated, libc):
    signals = generated.native("signal")
    mask = ctypes.c_uint64(1 << (signal.SIGUSR1 - 1))  # the kernel reads the first 8 bytes of sigset_t
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        fd = _check(libc.signalfd(-1, ctypes.byref(mask), 0))
        try:
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
            record = signals.SignalfdSiginfo.parse(os.read(fd, signals.SignalfdSiginfo.sizeof()))
        finally:
            os.close(fd)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    assert (record.ssi_signo, record.ssi_pid, record.ssi_uid) == (signal.SIGUSR1, os.getpid(), os.getuid())
    assert record.ssi_code == -6  # SI_TKILL


def test_siginfo_from_waitid_reads_through_the_union(generated, libc):
    signals = generated.native("signal")
    child = os.posix_spawnp("sh", ["sh", "-c", "exit 7"], os.environ)
    info = ctypes.create_string_buffer(signals.SigInfo.sizeof())
    _check(libc.waitid(1, child, info, os.WEXITED))  # P_PID; reaps the child
    parsed = signals.SigInfo.parse(info.raw)
    assert (parsed.si_signo, parsed.si_code) == (signal.SIGCHLD, os.CLD_EXITED)
    # The union read through its _sigchld alternative, and through its int view at 16, 20, 24.
    assert tuple(parsed.sifields.pad[:3]) == (child, os.getuid(), 7)
    chld = parsed.sifields.sigchld
    assert (chld.si_pid, chld.si_uid, chld.si_status) == (child, os.getuid(), 7)


def test_stat_and_uname_records(generated, libc):
    stat, process = generated.native("stat"), generated.native("process")
    raw = ctypes.create_string_buffer(stat.Stat.sizeof())
    _check(libc.stat(ROOT.encode(), raw))
    record, expected = stat.Stat.parse(raw.raw), os.stat(ROOT)
    assert (record.st_ino, record.st_mode, record.st_nlink, record.st_uid) == \
        (expected.st_ino, expected.st_mode, expected.st_nlink, expected.st_uid)
    assert record.st_mtim.tv_sec * 10**9 + record.st_mtim.tv_nsec == expected.st_mtime_ns
    names = ctypes.create_string_buffer(process.Utsname.sizeof())
    _check(libc.uname(names))
    parsed = process.Utsname.parse(names.raw)
    assert bytes(parsed.release).rstrip(b"\0").decode() == os.uname().release
    assert bytes(parsed.machine).rstrip(b"\0").decode() == os.uname().machine
