"""OVF 1.0 and 2.0 read/write (mag_ml.io.ovf): round trips, files built byte by byte from the OVF specs, and
OVF 2.0 files exchanged with Spirit's OVF library (spirit-code/ovf), an independent C++ implementation
(it reads and writes OVF 2.0 only, so OVF 1.0 is checked against the spec alone).

The independent check writes and parses files by hand here (struct, explicit loops over
x fastest, then y, then z), following the OOMMF user's guide, "Vector Field File Format (OVF)":
header lines "# key: value" (keys case-insensitive, whitespace ignored, "##" comments), check
values 1234567.0 (4 bytes) and 123456789012345.0 (8 bytes); little-endian in OVF 2.0 ("The OVF
2.0 format"), big-endian, values times valuemultiplier, no valuedim in OVF 1.0 ("The OVF 1.0
format", whose sample file test_reads_oommf_user_guide_ovf1_text follows line by line).
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
    with pytest.raises(OVFError, match="bad.ovf: irregular meshes are not supported .meshtype"):
        read_ovf(_write_spec(tmp_path, {"meshtype": "irregular"}))
    with pytest.raises(OVFError, match="unsupported meshtype 'triangular'"):
        read_ovf(_write_spec(tmp_path, {"meshtype": "triangular"}))
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
    ovf1.write_bytes(b"# OOMMF: rectangular mesh v1.0\n# Segment count: 1\n")  # OVF 1.0, but cut short
    with pytest.raises(OVFError, match="Begin: Data"):
        read_ovf(ovf1)
    for first in (b"# OOMMF OVF 3.0", b"# OOMMF: rectangular mesh v2.0", b"x,y,z,mx,my,mz"):
        ovf1.write_bytes(first + b"\n# Segment count: 1\n")
        with pytest.raises(OVFError, match="not an OVF 1.0 or OVF 2.0 file"):
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


# -- OVF 1.0 (OOMMF user's guide, "The OVF 1.0 format") --------------------------------------------
# The commented sample file of the user's guide, line by line, for a 2 x 2 x 1 mesh (the guide's has
# 200 x 400 x 1 nodes and the same header; its bounding box is made consistent with xbase here).
OOMMF_GUIDE_SAMPLE = """\
# OOMMF: rectangular mesh v1.0
#
## This is a comment.
## No comments allowed in the first line.
#
# Segment count: 1   ## Number of segments.  Should be 1 for now.
#
# Begin: Segment
# Begin: Header
#
# Title: Long file name or title goes here
#
# Desc: Optional description line 1.
# Desc: Optional description line 2.
# Desc: ...
#
## Fundamental mesh measurement unit.  Treated as a label:
# meshunit: nm
#
# meshtype: rectangular
# xbase: 0.       ## (xbase,ybase,zbase) is the position, in
# ybase: 0.       ## 'meshunit', of the first point in the data
# zbase: 0.       ## section (below).
#
# xstepsize: 20.  ## Distance between adjacent grid pts.: on the x-axis,
# ystepsize: 10.  ## 20 nm, etc.  The sign on this value determines the
# zstepsize: 10.  ## grid orientation relative to (xbase,ybase,zbase).
#
# xnodes: 2       ## Number of nodes along the x-axis, etc. (integers)
# ynodes: 2
# znodes: 1
#
# xmin:  -10.     ## Corner points defining mesh bounding box in
# ymin:   -5.     ## 'meshunit'.  Floating point values.
# zmin:   -5.
# xmax:   30.
# ymax:   15.
# zmax:    5.
#
## Fundamental field value unit, treated as a label:
# valueunit: kA/m
# valuemultiplier: 0.79577472  ## Multiply data block values by this
#                              ## to get true value in 'valueunits'.
#
# ValueRangeMaxMag:  1005.3096  ## These are in data block value units,
# ValueRangeMinMag:  1e-8       ## and are used as hints (or defaults)
#     ## by post-processing programs.  The mmDisp program ignores any
#     ## points with magnitude smaller than ValueRangeMinMag, and uses
#     ## ValueRangeMaxMag to scale inputs for display.
#
# End: Header
#
## Anything between '# End: Header' and '# Begin: data text',
## '# Begin: data binary 4' or '# Begin: data binary 8' is ignored.
##
## Data input is in 'x-major' format, meaning that x-coordinate
## index is incremented first, the y-coordinate index is incremented
## next, and the z-coordinate index is incremented last.
## Data values are space separated floating point values.
#
# Begin: data text
 1005.3096     0.0        0.0        ## node (x, y, z) = (0, 0, 0)
    0.0     -710.87       710.87     ## node (1, 0, 0)
    0.0        0.0       1005.3096   ## node (0, 1, 0)
 -355.43     615.63      -710.87
# End: data text
# End: segment
"""
GUIDE_VALUES = np.array([[1005.3096, 0.0, 0.0], [0.0, -710.87, 710.87], [0.0, 0.0, 1005.3096],
                         [-355.43, 615.63, -710.87]])  # nodes in file order (x fastest), components m_x m_y m_z


def test_reads_oommf_user_guide_ovf1_text(tmp_path):
    path = tmp_path / "guide.omf"
    path.write_text(OOMMF_GUIDE_SAMPLE)
    spins, meta = read_ovf(path)
    assert spins.shape == (3, 2, 2) and spins.dtype == np.float64  # (3, ny, nx)
    expected = GUIDE_VALUES * 0.79577472  # values times valuemultiplier, in valueunit (kA/m)
    for node, (x, y) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):  # x fastest, then y
        assert tuple(spins[:, y, x]) == tuple(expected[node])
    assert meta["version"] == 1 and meta["format"] == "text"
    assert meta["nodes"] == (2, 2, 1)
    assert meta["cell"] == (20.0, 10.0, 10.0) and meta["meshunit"] == "nm"
    assert meta["cell_metres"] == pytest.approx((20e-9, 10e-9, 10e-9), rel=1e-15)
    assert meta["base"] == (0.0, 0.0, 0.0) and meta["origin"] == (-10.0, -5.0, -5.0)
    assert meta["valuemultiplier"] == 0.79577472
    assert meta["valueunits"] == ["kA/m"] * 3 and meta["valuelabels"] == []
    assert meta["title"] == "Long file name or title goes here"
    assert meta["desc"] == ["Optional description line 1.", "Optional description line 2.", "..."]
    assert meta["header"]["valuerangemaxmag"] == "1005.3096"
    assert not any("#" in key for key in meta["header"])  # '##' lines are comments, not fields


def _ovf1_binary(nx, ny, nz, size, values, *, multiplier="0.5", box=True, check_order=">"):
    """An OVF 1.0 file as OOMMF's Oxs writes it, data packed big-endian with struct."""
    code = "f" if size == 4 else "d"
    lines = ["# OOMMF: rectangular mesh v1.0", "# Segment count: 1", "# Begin: Segment", "# Begin: Header",
             "# Title: Oxs_TimeDriver::Magnetization", "# Desc: Iteration: 0, State: 0, Stage: 0",
             "# meshunit: m", "# meshtype: rectangular",
             "# xbase: 1e-09", "# ybase: 1.5e-09", "# zbase: 5e-10",
             "# xstepsize: 2e-09", "# ystepsize: 3e-09", "# zstepsize: 1e-09",
             f"# xnodes: {nx}", f"# ynodes: {ny}", f"# znodes: {nz}"]
    if box:
        lines += ["# xmin: 0", "# ymin: 0", "# zmin: 0",
                  f"# xmax: {nx * 2e-9!r}", f"# ymax: {ny * 3e-9!r}", f"# zmax: {nz * 1e-9!r}"]
    lines += ["# valueunit: A/m", f"# valuemultiplier: {multiplier}",
              "# ValueRangeMinMag: 1e-08", "# ValueRangeMaxMag: 4000", "# End: Header",
              f"# Begin: Data Binary {size}"]
    body = struct.pack(check_order + code, CHECK_VALUES[size]) + struct.pack(f">{len(values)}{code}", *values)
    return ("\n".join(lines) + "\n").encode() + body + f"\n# End: Data Binary {size}\n# End: Segment\n".encode()


def test_ovf1_check_values_are_the_guides_bytes():
    # the guide gives them in hex, most significant byte first
    assert struct.pack(">f", CHECK_VALUES[4]) == bytes.fromhex("4996B438")
    assert struct.pack(">d", CHECK_VALUES[8]) == bytes.fromhex("42DC12218377DE40")


@pytest.mark.parametrize("size", [4, 8])
@pytest.mark.parametrize("nz", [1, 2])
@pytest.mark.parametrize("box", [True, False])
def test_reads_hand_built_big_endian_ovf1_binary(tmp_path, size, nz, box):
    nx, ny = 3, 2
    values = _spec_values(nx, ny, nz)
    path = tmp_path / "oxs.omf"
    path.write_bytes(_ovf1_binary(nx, ny, nz, size, values, box=box))
    spins, meta = read_ovf(path)
    expected = 0.5 * _expected(nx, ny, nz)  # valuemultiplier 0.5
    np.testing.assert_array_equal(spins, expected[:, 0] if nz == 1 else expected)
    if nz == 1:
        assert tuple(spins[:, 1, 2]) == tuple(0.5 * _value(c, 0, 1, 2) for c in range(3))  # row y, column x
    assert meta["version"] == 1 and meta["format"] == f"binary{size}"
    assert meta["nodes"] == (nx, ny, nz) and meta["cell"] == (2e-9, 3e-9, 1e-9)
    assert meta["cell_metres"] == (2e-9, 3e-9, 1e-9)
    assert meta["base"] == (1e-9, 1.5e-9, 5e-10)
    assert meta["origin"] == ((0.0, 0.0, 0.0) if box else pytest.approx((0.0, 0.0, 0.0), abs=1e-24))
    assert meta["valueunits"] == ["A/m"] * 3 and meta["valuemultiplier"] == 0.5
    assert meta["title"] == "Oxs_TimeDriver::Magnetization"


def test_ovf1_bad_files(tmp_path):
    values = _spec_values(2, 2, 1)
    path = tmp_path / "bad.omf"
    path.write_bytes(_ovf1_binary(2, 2, 1, 4, values, check_order="<"))
    with pytest.raises(OVFError, match="bad.omf: wrong binary check value .* big-endian .OVF 1.0. "
                                       r"\(the data are little-endian, as in OVF 2.0"):
        read_ovf(path)
    for multiplier in ("0", "nan", "x"):
        path.write_bytes(_ovf1_binary(2, 2, 1, 4, values, multiplier=multiplier))
        with pytest.raises(OVFError, match="valuemultiplier"):
            read_ovf(path)
    path.write_bytes(_ovf1_binary(2, 2, 1, 8, values, multiplier="1e308"))
    with pytest.raises(OVFError, match="NaN or infinite value.* after multiplying by valuemultiplier"):
        read_ovf(path)
    good = _ovf1_binary(2, 2, 1, 4, values)
    path.write_bytes(good.replace(b"# meshtype: rectangular", b"# meshtype: irregular"))
    with pytest.raises(OVFError, match="bad.omf: irregular meshes are not supported"):
        read_ovf(path)
    path.write_bytes(good.replace(b"rectangular mesh v1.0", b"irregular mesh v1.0")
                     .replace(b"# meshtype: rectangular", b"# meshtype: irregular"))
    with pytest.raises(OVFError, match="bad.omf: irregular meshes are not supported .first line"):
        read_ovf(path)
    path.write_bytes(good.replace(b"# meshunit: m\n", b""))
    with pytest.raises(OVFError, match="'meshunit' is missing"):
        read_ovf(path)
    path.write_bytes(good.replace(b"# meshtype: rectangular", b"# valuedim: 1\n# meshtype: rectangular"))
    with pytest.raises(OVFError, match="valuedim must be 3"):
        read_ovf(path)
    # OVF 2.0 has no valuemultiplier: one other than 1 is refused, not applied or ignored
    with pytest.raises(OVFError, match="valuemultiplier '2' in an OVF 2.0 file"):
        read_ovf(_write_spec(tmp_path, {"extra": ["# valuemultiplier: 2"]}))
    assert read_ovf(_write_spec(tmp_path, {"extra": ["# valuemultiplier: 1"]}))[1]["valuemultiplier"] == 1.0


def test_ovf1_revision_synonyms(tmp_path):
    """The guide: revisions 0.99 and 0.0a0 on the first line are synonyms for 1.0."""
    good = _ovf1_binary(2, 2, 1, 8, _spec_values(2, 2, 1))
    for revision in (b"v0.99", b"v0.0a0"):
        (tmp_path / "old.omf").write_bytes(good.replace(b"v1.0", revision, 1))
        spins, meta = read_ovf(tmp_path / "old.omf")
        assert meta["version"] == 1
        np.testing.assert_array_equal(spins, 0.5 * _expected(2, 2, 1)[:, 0])


@pytest.mark.parametrize("version", [1, 2])
def test_nan_values_are_refused(tmp_path, version):
    values = _spec_values(2, 2, 1)
    for bad in (float("nan"), float("inf")):
        v = list(values)
        v[3 * 3 + 1] = bad  # node 3 = (x, y) = (1, 1), component m_y
        if version == 1:
            raw = _ovf1_binary(2, 2, 1, 8, v)
        else:
            raw = _write_spec(tmp_path, data_line="# Begin: Data Binary 8", tail=b"\n# End: Data Binary 8\n",
                              body=struct.pack("<d", CHECK_VALUES[8]) + struct.pack("<12d", *v)).read_bytes()
        (tmp_path / "nan.ovf").write_bytes(raw)
        with pytest.raises(OVFError, match=r"nan.ovf: 1 NaN or infinite value\(s\) in the data, the first at "
                                           r"node \(x, y, z\) = \(1, 1, 0\), component 1"):
            read_ovf(tmp_path / "nan.ovf")
    text = "\n".join(["nan" if i == 0 else repr(x) for i, x in enumerate(values)]).encode()
    head = OOMMF_GUIDE_SAMPLE.split("\n# Begin: data text")[0].encode() if version == 1 else None
    raw = (head + b"\n# Begin: data text\n" + text + b"\n# End: data text\n# End: segment\n" if version == 1 else
           _write_spec(tmp_path, data_line="# Begin: Data Text", body=text, tail=b"\n# End: Data Text\n").read_bytes())
    (tmp_path / "nan.ovf").write_bytes(raw)
    with pytest.raises(OVFError, match=r"NaN .* node \(x, y, z\) = \(0, 0, 0\), component 0"):
        read_ovf(tmp_path / "nan.ovf")


@pytest.mark.parametrize("fmt", ["binary4", "binary8", "text"])
@pytest.mark.parametrize("shape", [(6, 10), (3, 4, 2)])
def test_round_trip_ovf1(tmp_path, rng, fmt, shape):
    field = rng.normal(size=(3, *shape)) * 8.6e5
    path = write_ovf(tmp_path / "m.omf", field, cell=(1 * NM, 2 * NM, 0.5 * NM), format=fmt, title="M",
                     origin=(10 * NM, -5 * NM, 0.0), desc="from mag_ml", valueunits="A/m", version=1)
    spins, meta = read_ovf(path)
    assert spins.shape == field.shape
    if fmt == "binary4":
        np.testing.assert_array_equal(spins, field.astype(np.float32).astype(np.float64))
    else:
        np.testing.assert_array_equal(spins, field)
    assert meta["version"] == 1 and meta["format"] == fmt and meta["valuemultiplier"] == 1.0
    assert meta["nodes"] == (shape[-1], shape[-2], 1 if len(shape) == 2 else shape[0])
    assert meta["cell"] == (1 * NM, 2 * NM, 0.5 * NM) and meta["origin"] == (10 * NM, -5 * NM, 0.0)
    assert meta["title"] == "M" and meta["desc"] == ["from mag_ml"] and meta["valueunits"] == ["A/m"] * 3
    assert "valuedim" not in meta["header"] and "valuelabels" not in meta["header"]


@pytest.mark.parametrize("size", [4, 8])
def test_written_ovf1_bytes_follow_the_spec(tmp_path, size):
    nx, ny = 3, 2
    spins = _expected(nx, ny, 1)[:, 0]
    path = write_ovf(tmp_path / "w.omf", spins, cell=(2e-9, 3e-9, 1e-9), format=f"binary{size}", version=1)
    raw = path.read_bytes()
    assert raw.startswith(b"# OOMMF: rectangular mesh v1.0\n# Segment count: 1\n# Begin: Segment\n")
    head, rest = raw.split(f"# Begin: Data Binary {size}\n".encode())
    fields = {}
    for line in head.decode().splitlines()[1:]:
        if ":" in line:
            key, value = line[1:].split(":", 1)
            fields[key.strip().lower()] = value.strip()
    assert fields["meshtype"] == "rectangular" and fields["meshunit"] == "m" and fields["valueunit"] == "1"
    assert float(fields["valuemultiplier"]) == 1 and "valuedim" not in fields and "valueunits" not in fields
    assert (int(fields["xnodes"]), int(fields["ynodes"]), int(fields["znodes"])) == (nx, ny, 1)
    assert float(fields["xstepsize"]) == 2e-9 and float(fields["ybase"]) == 1.5e-9
    assert float(fields["valuerangemaxmag"]) == pytest.approx(np.linalg.norm(spins, axis=0).max())
    assert float(fields["valuerangeminmag"]) == pytest.approx(np.linalg.norm(spins, axis=0).min())
    check = {4: "4996B438", 8: "42DC12218377DE40"}[size]  # the guide's check values, MSB first
    assert rest[:size] == bytes.fromhex(check)
    n = 3 * nx * ny
    data = struct.unpack(f">{n}{'f' if size == 4 else 'd'}", rest[size:size * (n + 1)])
    assert list(data) == _spec_values(nx, ny, 1)
    assert rest[size * (n + 1):] == f"\n# End: Data Binary {size}\n# End: Segment\n".encode()


def test_write_ovf1_refuses_what_it_cannot_store(tmp_path, state):
    with pytest.raises(ValueError, match="one valueunit"):
        write_ovf(tmp_path / "u.omf", state, cell=(1e-9,) * 3, valueunits=("A/m", "A/m", "T"), version=1)
    for version in (0, 3, "1", True):
        with pytest.raises(ValueError, match="version must be"):
            write_ovf(tmp_path / "u.omf", state, cell=(1e-9,) * 3, version=version)
    with pytest.raises(ValueError, match="'##'"):
        write_ovf(tmp_path / "u.omf", state, cell=(1e-9,) * 3, title="a ## b", version=1)
    assert not (tmp_path / "u.omf").exists()


def test_text_data_may_hold_comments(tmp_path):
    """Comments are permitted inside text data blocks (both versions share the text data layout)."""
    nx, ny = 2, 2
    values = _spec_values(nx, ny, 1)
    lines = [f"{values[3 * i]!r} {values[3 * i + 1]!r} {values[3 * i + 2]!r}  ## node {i}" for i in range(4)]
    text = "## a comment line\n#\n" + "\n".join(lines[:2]) + "\n# a remark without a colon\n" + "\n".join(lines[2:])
    raw = _spec_header(nx, ny, 1, "# Begin: Data Text") + text.encode() + b"\n# End: Data Text\n# End: Segment\n"
    (tmp_path / "c.ovf").write_bytes(raw)
    np.testing.assert_array_equal(read_ovf(tmp_path / "c.ovf")[0], _expected(nx, ny, 1)[:, 0])
