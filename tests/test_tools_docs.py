"""The docs target: `generated/docs/sysmsg.md` and its SVG diagrams.

The diagrams are rendered by a real browser, headless Chromium (Debian package
`chromium`, installed by scripts/bootstrap-toolchains.sh): each screenshot must show a
real picture (many colours, a fair share of non-white pixels, checked with the small PNG
decoder below), and the DOM Chromium builds must hold the expected labels.
"""
import os
import re
import shutil
import struct
import subprocess
import zlib

import pytest

from codegen import pipeline
from codegen.check import drift
from conftest import ARCHS, GENERATED, SPEC, declared_archs, run_cli

DOCS = os.path.join(GENERATED, "docs")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# ---- a minimal PNG reader (8-bit greyscale, RGB or RGBA, not interlaced) -----


def png_pixels(data: bytes) -> tuple:
    """(width, height, rows of (r, g, b) tuples) of a PNG file."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (0, 2, 4, 6), header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), previous, channels)
        rows.append([tuple(line[x:x + 3]) if channels >= 3 else (line[x],) * 3 for x in range(0, stride, channels)])
        previous = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, above: bytearray, step: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up, corner = above[i], (above[i - step] if i >= step else 0)
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            guess = left + up - corner
            near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner))
            line[i] = (line[i] + near[2]) & 0xFF
    return line


# ---- Chromium ----------------------------------------------------------------


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "chromium is missing: run `make toolchains` (Debian package chromium)"
    return path


def svg_size(path: str) -> tuple:
    head = open(path).read(400)
    return (int(re.search(r'width="(\d+)"', head).group(1)), int(re.search(r'height="(\d+)"', head).group(1)))


def screenshot(svg: str, folder) -> bytes:
    width, height = svg_size(svg)
    png = os.path.join(folder, "shot.png")
    subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={os.path.join(folder, 'profile')}",
                    f"--screenshot={png}", f"--window-size={width},{height}", "file://" + os.path.abspath(svg)],
                   capture_output=True, timeout=120)
    assert os.path.exists(png), f"chromium made no screenshot of {svg}"
    return open(png, "rb").read()


def dom(svg: str, folder) -> str:
    result = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={os.path.join(folder, 'profile')}",
                             "--dump-dom", "file://" + os.path.abspath(svg)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "<svg" in result.stdout, result.stderr[-400:]
    return result.stdout


def diagrams() -> list:
    spec, layouts = pipeline.build(SPEC)
    found = []
    for arch in ARCHS:
        for name, struct_layout in layouts[arch].structs.items():
            labels = [slot.field.names.canonical for slot in struct_layout.fields]
            labels += ["hole"] * bool([h for h in struct_layout.holes if not h.tail])
            labels += ["tail padding"] * bool([h for h in struct_layout.holes if h.tail])
            found.append((os.path.join(DOCS, "svg", arch, f"struct_{name}.svg"), labels))
        regions = [r.path[-1] for r in layouts[arch].regions if r.path[0] == "PerThreadMem"]
        found.append((os.path.join(DOCS, "svg", arch, "region_PerThreadMem.svg"), regions + ["guard", "holds Msg"]))
        found.append((os.path.join(DOCS, "svg", arch, "region_ThreadContexts.svg"),
                      ["ThreadContexts", "contexts", "holds 4095 x ThreadContext every 4096 bytes"]))
    return found


def diagram_id(value) -> str:
    return os.path.relpath(value, DOCS) if isinstance(value, str) else ""


@pytest.mark.parametrize("svg, labels", diagrams(), ids=diagram_id)
def test_chromium_renders_each_diagram_with_its_labels(svg, labels, tmp_path):
    width, height, rows = png_pixels(screenshot(svg, str(tmp_path)))
    assert (width, height) == svg_size(svg)
    pixels = [pixel for row in rows for pixel in row]
    colours = set(pixels)
    ink = sum(1 for pixel in pixels if pixel != (255, 255, 255))
    assert len(colours) >= 8, f"{svg}: only {len(colours)} colours: a blank or broken picture"
    assert ink / len(pixels) >= 0.05, f"{svg}: only {ink} of {len(pixels)} pixels are not white"
    text = dom(svg, str(tmp_path))
    for label in labels:
        assert label in text, f"{svg}: no {label!r} in the rendered DOM"


# ---- the Markdown and the target ---------------------------------------------


def test_markdown_has_a_table_per_struct_and_arch_and_links_every_diagram():
    text = open(os.path.join(DOCS, "sysmsg.md")).read()
    spec, layouts = pipeline.build(SPEC)
    for arch in ARCHS:
        for name, struct_layout in layouts[arch].structs.items():
            heading = f"#### {name} on {arch}: {struct_layout.size} bytes, aligned to {struct_layout.align}"
            assert heading in text
            assert f"](svg/{arch}/struct_{name}.svg)" in text
        assert f"](svg/{arch}/region_PerThreadMem.svg)" in text
        assert f"](svg/{arch}/region_ThreadContexts.svg)" in text
    assert "| &nbsp;&nbsp;`ThreadContexts.contexts` | 0 | 16773120 | 16773120 | `4095 x ThreadContext every 4096 bytes` |" in text
    assert "| 68 | 4 |  | *(hole)* | Inserted by the C alignment rules after `err_line`. |" in text
    assert "| 44 | 4 | `ThreadState` | `state` | What the thread is doing right now. |" in text
    assert "| `MAX_FPSTATE_LEN` | 3584 | 3584 |" in text
    assert "| `THREAD_STATE_ASLEEP` | 3 |" in text
    linked = set(re.findall(r"\]\((svg/[^)]+)\)", text))
    on_disk = {p for p in drift.committed_files(DOCS) if p.endswith(".svg")}
    assert linked == on_disk and len(linked) == 16  # 6 structs and 2 regions per arch


def test_generate_and_the_docs_command_write_the_same_docs(tmp_path):
    result = run_cli("docs", "--out", str(tmp_path / "docs"))
    assert result.returncode == 0, result.stderr
    assert drift.committed_files(str(tmp_path / "docs")) == drift.committed_files(DOCS)


def test_docs_render_for_specs_with_packing_variants_and_no_regions(tmp_path):
    for case in ("packed_aligned", "per_arch", "nested_arrays", "zero_length", "anonymous_packed"):
        out = tmp_path / case
        spec_path = os.path.join(os.path.dirname(os.path.dirname(SPEC)), "tests", "cases", case, "spec.yaml")
        assert run_cli("generate", "--spec", spec_path, "--out", str(out)).returncode == 0
        docs = drift.committed_files(str(out / "docs"))
        markdown = [p for p in docs if p.endswith(".md")]
        assert len(markdown) == 1 and any(p.endswith(".svg") for p in docs)
    packed = open(tmp_path / "packed_aligned" / "docs" / "packal.md").read()
    assert "*(tail padding)*" in packed and "*(hole)*" in packed


def test_a_spec_with_parameters_gets_a_table_of_what_they_change(tmp_path):
    """pagex: a column per combination for every value that depends on page_size, and
    nothing for what does not (MAX_THREADS, Msg.state, the alignment); a table and a
    diagram per combination below it."""
    spec_path = os.path.join(os.path.dirname(os.path.dirname(SPEC)), "tests", "cases", "page_size_axis", "spec.yaml")
    result = run_cli("docs", "--spec", spec_path, "--out", str(tmp_path / "docs"))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "docs" / "pagex.md").read_text()
    archs = declared_archs(spec_path)
    keys = [f"{arch}{key}" for arch in archs for key in ("", "_16k", "_64k")]
    assert "| `page_size` | 4096, 16384, 65536 | 4096 | `PAGEX_PAGE_SIZE` | The kernel's page size in bytes. |" in text
    table = text[text.index("What the parameters change:"):text.index("## Structs")]
    assert "| Value |" + "".join(f" {key} |" for key in keys) in table
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[4:] if line]
    rows = {row[0]: row[1:] for row in cells}
    # The same three values (4K, 16K, 64K) under every arch: none of these depends on the arch.
    assert rows["`PER_THREAD_PAGES`"] == ["8", "8", "5"] * len(archs)
    assert rows["`Msg` size"] == ["72", "72", "48"] * len(archs)
    assert rows["`Msg.stack_pages` size"] == ["64", "64", "40"] * len(archs)
    assert rows["`Stub.thread0.stack` offset"] == ["4096", "16384", "65536"] * len(archs)
    assert rows["`Stub` size"][2] == "1310720"
    assert not any(label.startswith(("`MAX_THREADS`", "`Msg.state`", "`Msg.stack_pages` offset", "`Msg` align"))
                   for label in rows)
    for key in keys:
        assert f"](svg/{key}/struct_Msg.svg)" in text and (tmp_path / "docs" / "svg" / key / "region_Stub.svg").exists()


def test_a_spec_without_parameters_has_no_parameter_section():
    assert "## Parameters" not in open(os.path.join(DOCS, "sysmsg.md")).read()


def test_anonymous_members_are_shown_inside_their_parent_with_outer_offsets(tmp_path):
    spec_path = os.path.join(os.path.dirname(os.path.dirname(SPEC)), "tests", "cases", "anonymous", "spec.yaml")
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", spec_path, "--out", str(out)).returncode == 0
    markdown = (out / "docs" / "anonymous.md").read_text()
    assert "| 8 | 8 | *anonymous union* | *(anonymous union)* |" in markdown
    assert "| 8 | 8 | `u64` | ↳ `sample_freq` |" in markdown
    assert "| 28 | 2 | `u16` | ↳ ↳ `high` |" in markdown  # a struct inside an anonymous union of Framed
    assert "after the anonymous member" in markdown
    # The generated names of the hidden declarations appear nowhere: C has no such types.
    assert "Anon" not in markdown.replace("Anonymous (unnamed)", "")
    svgs = sorted(p.name for p in (out / "docs" / "svg" / "amd64").iterdir())
    assert svgs == ["struct_Attr.svg", "struct_Deep.svg", "struct_Either.svg", "struct_Framed.svg", "struct_Net.svg", "struct_Point.svg"]
    assert not any("Anon" in p.read_text() for p in (out / "docs" / "svg").rglob("*.svg"))
