"""OVF 2.0 read/write (mag_ml.io.ovf): round trips, files built byte by byte from the OVF 2.0 spec, and
files exchanged with Spirit's OVF library (spirit-code/ovf), an independent C++ implementation.

The independent check writes and parses files by hand here (struct, explicit loops over
x fastest, then y, then z), following the OOMMF user's guide, "OVF 2.0 format": header
lines "# key: value" (keys case-insensitive, whitespace ignored, "##" comments), check
values 1234567.0 (4 bytes) and 123456789012345.0 (8 bytes), little-endian.
"""

import os
import struct

import numpy as np
import ovf.ovf as spirit_ovf  # Spirit's OVF library, pinned in requirements.txt (tests only)
import pytest

from mag_ml.io import CHECK_VALUES, OVFError, read_ovf, write_ovf
from tests.conftest import random_unit

NM = 1e-9


@pytest.fixture
def state(rng):
    return random_unit(rng, (6, 10))  # (3, H, W): ny = 6, nx = 10


@pytest.mark.parametrize("fmt", ["binary4", "binary8", "text"])
def test_round_trip_2d(tmp_path, state, fmt):
    path = write_ovf(tmp_path / f"m.{fmt}.ovf", state, cell=(1 * NM, 2 * NM, 0.5 * NM), format=fmt, title="m",
                     origin=(10 * NM, -5 * NM, 0.0), desc=["Total simulation time: 0 s", "from mag_ml"])
    spins, meta = read_ovf(path)
    assert spins.shape == state.shape and spins.dtype == np.float64
    if fmt == "binary4":
        np.testing.assert_array_equal(spins, state.astype(np.float32).astype(np.float64))
    else:
        np.testing.assert_array_equal(spins, state)  # text: shortest repr round-trips exactly
    assert meta["format"] == fmt
    assert meta["nodes"] == (10, 6, 1)
    assert meta["cell"] == (1 * NM, 2 * NM, 0.5 * NM)
    assert meta["origin"] == (10 * NM, -5 * NM, 0.0)
    assert meta["base"] == pytest.approx((10.5 * NM, -4 * NM, 0.25 * NM))
    assert meta["title"] == "m" and meta["desc"] == ["Total simulation time: 0 s", "from mag_ml"]
    assert meta["meshunit"] == "m" and meta["valueunits"] == ["1", "1", "1"]
    assert meta["valuelabels"] == ["m_x", "m_y", "m_z"]


@pytest.mark.parametrize("fmt", ["binary4", "binary8", "text"])
def test_round_trip_3d_and_vacancies(tmp_path, rng, fmt):
    field = rng.normal(size=(3, 3, 4, 2)) * 8.6e5  # (3, nz, ny, nx), values in A/m
    field[:, 1, 2, :] = 0.0  # empty cells
    path = write_ovf(tmp_path / "M.ovf", field, cell=(1e-9, 1e-9, 2e-9), format=fmt, valueunits="A/m")
    spins, meta = read_ovf(path)
    assert spins.shape == (3, 3, 4, 2) and meta["nodes"] == (2, 4, 3)
    np.testing.assert_allclose(spins, field, rtol=1e-7 if fmt == "binary4" else 0)
    assert meta["valueunits"] == ["A/m"] * 3


def _spec_header(nx, ny, nz, data_line, *, meshtype="rectangular", valuedim=3, extra=()):
    """A MuMax3-like header typed out from the spec, with mixed case, spacing and comments."""
    lines = ["# OOMMF OVF 2.0", "#", "# Segment count: 1", "#", "# Begin: Segment", "# Begin: Header",
             "#", "# Title: m ## a comment", "# meshtype: " + meshtype, "# meshunit: m",
             "# xmin: 0", "# ymin: 0", "# zmin: 0",
             f"# xmax: {nx * 2e-9!r}", f"# ymax: {ny * 3e-9!r}", f"# zmax: {nz * 1e-9!r}",
             f"# valuedim: {valuedim}", "# valuelabels: m_x m_y m_z", "# valueunits: 1 1 1",
             "# Desc: Total simulation time:  0  s",
             "# xbase: 1e-09", "# ybase: 1.5e-09", "# zbase: 5e-10",
             f"# X nodes: {nx}", f"# ynodes: {ny}", f"# ZNODES: {nz}",
             "# xstepsize: 2e-09", "# ystepsize: 3e-09", "# zstepsize: 1e-09", *extra,
             "# End: Header", data_line]
    return ("\n".join(lines) + "\n").encode("ascii")


def _value(c, z, y, x):
    """Distinct, exactly representable test value of component c at node (x, y, z)."""
    return (c + 1) * 0.5 + x * 4.0 + y * 64.0 + z * 1024.0


def _spec_values(nx, ny, nz):
    out = []
    for z in range(nz):  # x fastest, then y, then z; the 3 components of a node together
        for y in range(ny):
            for x in range(nx):
                out.extend(_value(c, z, y, x) for c in range(3))
    return out


def _expected(nx, ny, nz):
    e = np.empty((3, nz, ny, nx))
    for c in range(3):
        for z in range(nz):
            for y in range(ny):
                for x in range(nx):
                    e[c, z, y, x] = _value(c, z, y, x)
    return e


@pytest.mark.parametrize("size, fmt", [(4, "<f"), (8, "<d")])
@pytest.mark.parametrize("nz", [1, 2])
def test_reads_hand_built_binary_files(tmp_path, size, fmt, nz):
    nx, ny = 3, 2
    values = _spec_values(nx, ny, nz)
    body = struct.pack(fmt, CHECK_VALUES[size]) + struct.pack(f"<{len(values)}{fmt[1]}", *values)
    raw = (_spec_header(nx, ny, nz, f"# Begin: Data Binary {size}") + body
           + f"\n# End: Data Binary {size}\n# End: Segment\n".encode())
    path = tmp_path / "spec.ovf"
    path.write_bytes(raw)
    spins, meta = read_ovf(path)
    expected = _expected(nx, ny, nz)
    np.testing.assert_array_equal(spins, expected[:, 0] if nz == 1 else expected)
    assert meta["nodes"] == (nx, ny, nz) and meta["cell"] == (2e-9, 3e-9, 1e-9)
    assert meta["title"] == "m" and meta["format"] == f"binary{size}"
    assert meta["desc"] == ["Total simulation time:  0  s"]
    # spins[:, y, x] is node (x, y): row y, column x as the book's arrays
    if nz == 1:
        assert tuple(spins[:, 1, 2]) == tuple(_value(c, 0, 1, 2) for c in range(3))


def test_reads_hand_built_text_file(tmp_path):
    nx, ny, nz = 2, 3, 1
    values = _spec_values(nx, ny, nz)
    # OOMMF-style text: free spacing, several nodes per line are allowed
    text = "\n".join("  " + "   ".join(repr(v) for v in values[i:i + 6]) for i in range(0, len(values), 6))
    raw = _spec_header(nx, ny, nz, "# Begin: data text") + text.encode() + b"\n# End: Data Text\n# End: Segment\n"
    path = tmp_path / "spec.ovf"
    path.write_bytes(raw)
    spins, meta = read_ovf(path)
    np.testing.assert_array_equal(spins, _expected(nx, ny, nz)[:, 0])
    assert meta["format"] == "text"


@pytest.mark.parametrize("size", [4, 8])
def test_written_bytes_follow_the_spec(tmp_path, size):
    nx, ny = 3, 2
    spins = _expected(nx, ny, 1)[:, 0]
    path = write_ovf(tmp_path / "w.ovf", spins, cell=(2e-9, 3e-9, 1e-9), format=f"binary{size}", title="m")
    raw = path.read_bytes()
    assert raw.startswith(b"# OOMMF OVF 2.0\n")
    head, rest = raw.split(f"# Begin: Data Binary {size}\n".encode())
    fields = {}
    for line in head.decode().splitlines():
        if ":" in line:
            key, value = line[1:].split(":", 1)
            fields[key.strip().lower()] = value.strip()
    assert fields["segment count"] == "1" and fields["meshtype"] == "rectangular" and fields["meshunit"] == "m"
    assert (int(fields["xnodes"]), int(fields["ynodes"]), int(fields["znodes"])) == (nx, ny, 1)
    assert float(fields["xstepsize"]) == 2e-9 and float(fields["ystepsize"]) == 3e-9
    assert float(fields["xbase"]) == 1e-9 and float(fields["ybase"]) == 1.5e-9 and float(fields["zbase"]) == 5e-10
    assert float(fields["xmax"]) == pytest.approx(6e-9) and float(fields["ymax"]) == pytest.approx(6e-9)
    assert fields["valuedim"] == "3"
    code = "<f" if size == 4 else "<d"
    n = 3 * nx * ny
    (check,) = struct.unpack(code, rest[:size])
    assert check == CHECK_VALUES[size]
    data = struct.unpack(f"<{n}{code[1]}", rest[size:size * (n + 1)])
    assert list(data) == _spec_values(nx, ny, 1)
    assert rest[size * (n + 1):] == f"\n# End: Data Binary {size}\n# End: Segment\n".encode()


def _write_spec(tmp_path, header_kw=None, *, data_line="# Begin: Data Binary 4", body=None, tail=None):
    nx, ny, nz = 2, 2, 1
    values = _spec_values(nx, ny, nz)
    if body is None:
        body = struct.pack("<f", CHECK_VALUES[4]) + struct.pack(f"<{len(values)}f", *values)
    tail = b"\n# End: Data Binary 4\n# End: Segment\n" if tail is None else tail
    path = tmp_path / "bad.ovf"
    path.write_bytes(_spec_header(nx, ny, nz, data_line, **(header_kw or {})) + body + tail)
    return path


def test_bad_files_raise_clear_errors(tmp_path):
    values = _spec_values(2, 2, 1)
    good = struct.pack(f"<{len(values)}f", *values)
    with pytest.raises(OVFError, match="check value"):
        read_ovf(_write_spec(tmp_path, body=struct.pack("<f", 1.0) + good))
    with pytest.raises(OVFError, match="big-endian"):
        read_ovf(_write_spec(tmp_path, body=struct.pack(">f", CHECK_VALUES[4]) + good))
    with pytest.raises(OVFError, match="truncated"):
        read_ovf(_write_spec(tmp_path, body=struct.pack("<f", CHECK_VALUES[4]) + good[:-4], tail=b""))
    with pytest.raises(OVFError, match="End: Data"):
        read_ovf(_write_spec(tmp_path, body=struct.pack("<f", CHECK_VALUES[4]) + good + good[:8]))
    with pytest.raises(OVFError, match="meshtype"):
        read_ovf(_write_spec(tmp_path, {"meshtype": "irregular"}))
    with pytest.raises(OVFError, match="valuedim"):
        read_ovf(_write_spec(tmp_path, {"valuedim": 1}))
    with pytest.raises(OVFError, match="Binary 4|data format"):
        read_ovf(_write_spec(tmp_path, data_line="# Begin: Data Binary 2"))
    with pytest.raises(OVFError, match="Begin: Data"):
        read_ovf(_write_spec(tmp_path, data_line="#", body=b"", tail=b""))
    text = "\n".join(repr(v) for v in values[:-1]).encode()
    with pytest.raises(OVFError, match="truncated text"):
        read_ovf(_write_spec(tmp_path, data_line="# Begin: Data Text", body=text, tail=b"\n# End: Data Text\n"))
    with pytest.raises(OVFError, match="End: Data Text"):
        read_ovf(_write_spec(tmp_path, data_line="# Begin: Data Text", body=text, tail=b""))
    ovf1 = tmp_path / "v1.ovf"
    ovf1.write_bytes(b"# OOMMF: rectangular mesh v1.0\n# Segment count: 1\n")
    with pytest.raises(OVFError, match="not an OVF 2.0"):
        read_ovf(ovf1)
    broken = _write_spec(tmp_path).read_bytes().replace(b"# ynodes: 2\n", b"")
    (tmp_path / "nonodes.ovf").write_bytes(broken)
    with pytest.raises(OVFError, match="ynodes"):
        read_ovf(tmp_path / "nonodes.ovf")
    for old, new, match in ((b"# X nodes: 2", b"# X nodes: inf", "xnodes"),
                            (b"# ystepsize: 3e-09", b"# ystepsize: -3e-09", "step sizes")):
        (tmp_path / "field.ovf").write_bytes(_write_spec(tmp_path).read_bytes().replace(old, new))
        with pytest.raises(OVFError, match=match):
            read_ovf(tmp_path / "field.ovf")
    two = _write_spec(tmp_path).read_bytes().replace(b"# Segment count: 1", b"# Segment count: 2")
    (tmp_path / "two.ovf").write_bytes(two)
    with pytest.raises(OVFError, match="segment"):
        read_ovf(tmp_path / "two.ovf")
    assert issubclass(OVFError, ValueError)


def test_bad_input_to_write_and_atomicity(tmp_path, state):
    path = tmp_path / "keep.ovf"
    write_ovf(path, state, cell=(1e-9, 1e-9, 1e-9))
    before = path.read_bytes()
    bad = [dict(spins=state[:2], cell=(1e-9,) * 3), dict(spins=state, cell=(0.0, 1e-9, 1e-9)),
           dict(spins=state, cell=(1e-9, 1e-9)), dict(spins=state, cell=(1e-9,) * 3, format="binary2"),
           dict(spins=np.full_like(state, np.nan), cell=(1e-9,) * 3),
           dict(spins=state, cell=(1e-9,) * 3, title="two\nlines"),
           dict(spins=state, cell=(1e-9,) * 3, origin=(0, 0))]
    for kw in bad:
        with pytest.raises(ValueError):
            write_ovf(path, **kw)
    with pytest.raises(TypeError):
        write_ovf(path, state.astype(complex), cell=(1e-9,) * 3)
    assert path.read_bytes() == before  # a failed write leaves the old file
    assert sorted(os.listdir(tmp_path)) == ["keep.ovf"]  # and no temporary files
    with pytest.raises(FileNotFoundError):
        read_ovf(tmp_path / "missing.ovf")


def test_mumax3_style_state_loads_as_book_array(tmp_path):
    """A (3, H, W) lattice state survives export and import with its row/column meaning."""
    h, w = 4, 8
    s = np.zeros((3, h, w))
    s[2] = 1.0
    s[:, 1, 5] = (1.0, 0.0, 0.0)  # one flipped spin at row y = 1, column x = 5
    spins, _ = read_ovf(write_ovf(tmp_path / "s.ovf", s, cell=(1e-9,) * 3, format="binary8"))
    assert tuple(spins[:, 1, 5]) == (1.0, 0.0, 0.0)
    raw = (tmp_path / "s.ovf").read_bytes()
    data = raw.split(b"# Begin: Data Binary 8\n")[1]
    node = 1 * w + 5  # x fastest: node index x + nx * y
    assert struct.unpack("<3d", data[8 + 24 * node: 8 + 24 * (node + 1)]) == (1.0, 0.0, 0.0)


# -- against Spirit's OVF library (spirit-code/ovf, C++), an independent implementation ------------
SPIRIT_FORMATS = {"text": spirit_ovf.FILEFORMAT_TEXT, "binary4": spirit_ovf.FILEFORMAT_BIN4,
                  "binary8": spirit_ovf.FILEFORMAT_BIN8}
SPIRIT_DTYPES = {"text": "d", "binary4": "f", "binary8": "d"}


@pytest.mark.parametrize("fmt", ["binary4", "binary8", "text"])
def test_spirit_reads_our_files(tmp_path, state, fmt):
    path = write_ovf(tmp_path / "m.ovf", state, cell=(1 * NM, 2 * NM, 0.5 * NM), format=fmt, title="m")
    segment = spirit_ovf.ovf_segment()
    with spirit_ovf.ovf_file(str(path)) as f:
        assert f.found and f.is_ovf and f.version == 2 and f.n_segments == 1
        assert f.read_segment_header(0, segment) == spirit_ovf.OK, f.get_latest_message()
        data = np.zeros((segment.N, segment.valuedim), dtype=SPIRIT_DTYPES[fmt])
        assert f.read_segment_data(0, segment, data) == spirit_ovf.OK, f.get_latest_message()
    assert list(segment.n_cells) == [10, 6, 1] and segment.valuedim == 3
    np.testing.assert_allclose(list(segment.step_size), [1 * NM, 2 * NM, 0.5 * NM], rtol=1e-7)  # float32 fields
    expected = state.reshape(3, -1).T  # x fastest, then y
    np.testing.assert_allclose(data, expected, rtol=0, atol=1e-7 if fmt == "binary4" else 1e-15)


@pytest.mark.parametrize("fmt", ["binary4", "binary8", "text"])
def test_we_read_spirits_files(tmp_path, state, fmt):
    path = str(tmp_path / "spirit.ovf")
    segment = spirit_ovf.ovf_segment(title="spirit", valuedim=3, n_cells=[10, 6, 1], meshtype="rectangular",
                                     meshunits="m", step_size=[1 * NM, 2 * NM, 0.5 * NM],
                                     bounds_max=[10 * NM, 12 * NM, 0.5 * NM])
    data = np.ascontiguousarray(state.reshape(3, -1).T, dtype=SPIRIT_DTYPES[fmt])
    with spirit_ovf.ovf_file(path) as f:
        assert f.write_segment(segment, data, SPIRIT_FORMATS[fmt]) == spirit_ovf.OK, f.get_latest_message()
    spins, meta = read_ovf(path)
    assert meta["title"] == "spirit" and meta["nodes"] == (10, 6, 1)
    np.testing.assert_allclose(meta["cell"], (1 * NM, 2 * NM, 0.5 * NM), rtol=1e-7)
    np.testing.assert_allclose(spins, state, rtol=0, atol=1e-7 if fmt == "binary4" else 1e-11)
