"""check's Python step reads every bitfield on every arch: bytes holding only the field's
bits, placed as that arch's C allocates them, must parse and view as all ones. On s390x
(big-endian, bits from each byte's top) a module reading its runs little-endian fails."""
import pytest

from codegen import pipeline
from codegen.check import python_probe
from conftest import run_cli

SPEC = """\
layoutgen: 1
name: probebits
archs: [amd64, arm64, riscv64, i386, armhf, ppc64le, s390x, mips64el]
targets: [c, python]
structs:
  Inner:
    fields:
      - {name: lo, type: u16, bits: 5}
      - {name: hi, type: i16, bits: 9}
  Bits:
    fields:
      - {name: a, type: u8, bits: 3}
      - {name: b, type: bool8, bits: 1}
      - {name: d, type: u32, bits: 30}
      - {name: inner, type: Inner}
      - {name: e, type: i64, bits: 40}
"""


@pytest.fixture
def out(tmp_path):
    (tmp_path / "probebits.yaml").write_text(SPEC)
    result = run_cli("generate", "--spec", str(tmp_path / "probebits.yaml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    return tmp_path


def probed(folder) -> list:
    spec, layouts = pipeline.build(str(folder / "probebits.yaml"))
    return python_probe.task(spec, layouts, str(folder / "out")).run().problems


def test_every_arch_reads_its_bitfields(out):
    assert probed(out) == []


def test_a_big_endian_module_reading_little_endian_is_caught(out):
    module = out / "out" / "python" / "probebits" / "s390x.py"
    text = module.read_text()
    assert ", big=True)" in text
    module.write_text(text.replace(", big=True)", ")"))  # views and the reference read runs little-endian
    problems = probed(out)
    assert problems and all(p.startswith("s390x ") for p in problems)
    assert any(p.startswith("s390x Bits.inner.hi: bits read (parse, view)") for p in problems), problems
