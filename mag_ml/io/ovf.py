r"""OVF files (OOMMF, MuMax3): read OVF 1.0 and 2.0, write either, vector fields on rectangular meshes.

The OOMMF Vector Field format (OOMMF user's guide, "Vector Field File Format
(OVF)": sections "The OVF 1.0 format" and "The OVF 2.0 format") is what
OOMMF (``Oxs_*`` outputs, ``.omf``/``.ohf``/``.ovf``) and MuMax3
(``save(m)``; OVF 2.0 by default, OVF 1.0 with ``OutputFormat = OVF1_*``)
write, so states from those simulators can be loaded into the book and ours
exported to them.  A file is one text header and one data block.  OVF 2.0:

.. code-block:: text

    # OOMMF OVF 2.0
    # Segment count: 1
    # Begin: Segment
    # Begin: Header
    # Title: m
    # meshtype: rectangular
    # meshunit: m
    # xmin: 0             (and ymin, zmin, xmax, ymax, zmax: the bounding box)
    # valuedim: 3
    # valuelabels: m_x m_y m_z
    # valueunits: 1 1 1
    # xbase: 5e-10        (centre of the first cell; and ybase, zbase)
    # xnodes: 128         (and ynodes, znodes)
    # xstepsize: 1e-09    (and ystepsize, zstepsize)
    # End: Header
    # Begin: Data Binary 4
    <check value><data>
    # End: Data Binary 4
    # End: Segment

OVF 1.0 differs in four places: the first line is
``# OOMMF: rectangular mesh v1.0`` (``irregular mesh`` for irregular
meshes; the revisions ``v0.99`` and ``v0.0a0`` are synonyms of ``v1.0``);
there is no ``valuedim`` (always 3) nor ``valuelabels``, and one
``valueunit`` instead of ``valueunits``; the stored values are multiplied by
``valuemultiplier`` to give the field in ``valueunit``; and binary data are
big-endian ("network byte order"), where OVF 2.0 is little-endian.

Header keywords are case-insensitive and ignore whitespace; ``##`` starts a
comment.  Data: ``Text`` (whitespace-separated numbers; ``#`` comments are
allowed between them), ``Binary 4`` (IEEE float32) or ``Binary 8``
(float64), binary data preceded by a check value (1234567.0 for 4 bytes,
hex ``49 96 B4 38`` big-endian; 123456789012345.0 for 8 bytes, hex
``42 DC 12 21 83 77 DE 40`` big-endian) in the byte order of the version.
Values are stored node by node (the 3 components of a node together),
x fastest, then y, then z.

Array convention of the book: a state is ``(3, H, W)``, row index y and
column index x, which is the OVF mesh with ``znodes = 1``,
``ynodes = H``, ``xnodes = W``; 3D fields are ``(3, nz, ny, nx)``.  Empty
cells (vacancies, outside a disk) are stored as zero vectors, as MuMax3 does.

Only single-segment, rectangular-mesh, three-component files with finite
values are read; anything else (irregular meshes, NaN values, a byte order
that does not match the version, ...) raises :class:`OVFError` with the file
and the reason, so that no file is silently misread.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..files import atomic_write

__all__ = ["read_ovf", "write_ovf", "OVFError", "FORMATS", "VERSIONS", "CHECK_VALUES", "METRES_PER_MESHUNIT"]

FORMATS = ("binary4", "binary8", "text")
#: OVF versions read and written: 1 (OVF 1.0) and 2 (OVF 2.0).
VERSIONS = (1, 2)
#: Binary check values, written before the data: big-endian in OVF 1.0, little-endian in OVF 2.0.
CHECK_VALUES = {4: 1234567.0, 8: 123456789012345.0}
#: Metres per ``meshunit`` label, for the units a length can be converted from (``metadata["cell_metres"]``).
METRES_PER_MESHUNIT = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "\u00b5m": 1e-6, "\u03bcm": 1e-6,
                       "micron": 1e-6, "nm": 1e-9, "pm": 1e-12, "\u00c5": 1e-10, "angstrom": 1e-10}
_DTYPES = {1: {4: ">f4", 8: ">f8"}, 2: {4: "<f4", 8: "<f8"}}
_ENDIAN = {1: "big-endian", 2: "little-endian"}
_MAGIC = {1: "# OOMMF: rectangular mesh v1.0", 2: "# OOMMF OVF 2.0"}
_V1_REVISIONS = ("v1.0", "v1.00", "v0.99", "v0.0a0")  # synonyms of 1.0 (OOMMF user's guide, OVF 1.0 format)
_MESH = ("meshtype", "meshunit", "xnodes", "ynodes", "znodes", "xstepsize", "ystepsize", "zstepsize")
_REQUIRED = {1: _MESH, 2: _MESH + ("valuedim",)}


class OVFError(ValueError):
    """A file that is not a readable OVF 1.0 or 2.0 rectangular vector field (the message names the file and why)."""


# ----------------------------------------------------------------------------- writing
def _check_cell(cell):
    try:
        values = tuple(float(c) for c in cell)
    except (TypeError, ValueError):
        raise ValueError(f"cell must be (dx, dy, dz) in metres, three positive numbers, got {cell!r}") from None
    if len(values) != 3 or not all(math.isfinite(c) and c > 0 for c in values):
        raise ValueError(f"cell must be (dx, dy, dz) in metres, three positive numbers, got {cell!r}")
    return values


def _check_origin(origin):
    try:
        values = tuple(float(c) for c in origin)
    except (TypeError, ValueError):
        raise ValueError(f"origin must be (xmin, ymin, zmin) in metres, got {origin!r}") from None
    if len(values) != 3 or not all(math.isfinite(c) for c in values):
        raise ValueError(f"origin must be (xmin, ymin, zmin) in metres, three finite numbers, got {origin!r}")
    return values


def _g(value):
    """Shortest text that reads back as the same float64."""
    return repr(float(value))


def _header_text(value, name):
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"{name} must be a single line of text, got {value!r}")
    if "##" in text:
        raise ValueError(f"{name} must not contain '##' (it starts a comment in an OVF header), got {value!r}")
    return text


def write_ovf(path, spins, *, cell, format="binary4", title="", origin=(0.0, 0.0, 0.0), desc=None,
              valuelabels=("m_x", "m_y", "m_z"), valueunits="1", version=2):
    """Write a vector field to an OVF 2.0 (default) or OVF 1.0 file (rectangular mesh), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (conventionally ``*.ovf``; OOMMF uses ``*.omf`` for
        magnetisation).  Written under a temporary name and renamed when
        complete; a failed write leaves an existing file untouched.
    spins : array_like, float, shape (3, H, W) or (3, nz, ny, nx)
        Components first; row index y, column index x (the book's
        convention).  Any finite values (unit vectors, or fields in
        ``valueunits``); zeros mark empty cells.
    cell : (float, float, float)
        Cell size (dx, dy, dz) [m], each > 0.
    format : {"binary4", "binary8", "text"}
        Data block: float32 or float64 (little-endian in OVF 2.0, big-endian
        in OVF 1.0), or text (Python's shortest repr of each float64, an
        exact round trip).
    title : str
        ``Title`` header line (MuMax3 writes the quantity, e.g. ``m``).
    origin : (float, float, float)
        Corner (xmin, ymin, zmin) of the mesh [m]; the first cell centre is
        ``origin + cell / 2``.
    desc : str or sequence of str, optional
        ``Desc`` header lines.
    valuelabels : sequence of 3 str
        Component labels (no spaces inside a label).  OVF 2.0 only: OVF 1.0
        has no labels, so they are not written there.
    valueunits : str or sequence of 3 str
        Unit of the values (``"1"`` for the reduced magnetisation, ``"A/m"``
        for M).  OVF 1.0 has a single ``valueunit``: the three must agree.
    version : {2, 1}
        2: OVF 2.0 (what MuMax3 writes by default).  1: OVF 1.0 as OOMMF
        writes it (``# OOMMF: rectangular mesh v1.0``, ``valueunit``,
        ``valuemultiplier: 1``, ``ValueRangeMinMag`` / ``ValueRangeMaxMag``
        from the data, big-endian binary data).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        Bad shape, non-finite values, bad cell, origin, format, version or
        header text (several lines, or ``##``), or differing units with
        ``version=1``.
    TypeError
        Non-numeric ``spins``.

    References
    ----------
    OOMMF user's guide, "Vector Field File Format (OVF)": "The OVF 1.0
    format" and "The OVF 2.0 format"; MuMax3 (Vansteenkiste et al., AIP
    Advances 4, 107133 (2014)) writes both with ``save``.
    """
    arr = np.asarray(spins)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"spins must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[:, np.newaxis]
    if arr.ndim != 4 or arr.shape[0] != 3 or min(arr.shape[1:]) < 1:
        raise ValueError(f"spins must have shape (3, H, W) or (3, nz, ny, nx), got {np.shape(spins)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("spins contains NaN or inf values")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if version not in VERSIONS or isinstance(version, bool):
        raise ValueError(f"version must be 2 (OVF 2.0) or 1 (OVF 1.0), got {version!r}")
    dx, dy, dz = _check_cell(cell)
    x0, y0, z0 = _check_origin(origin)
    labels = [_header_text(v, "valuelabels") for v in valuelabels]
    units = [valueunits] * 3 if isinstance(valueunits, str) else list(valueunits)
    units = [_header_text(v, "valueunits") for v in units]
    if len(labels) != 3 or len(units) != 3 or any(not v or " " in v for v in labels + units):
        raise ValueError(f"valuelabels and valueunits need 3 entries without spaces, got {valuelabels!r}, "
                         f"{valueunits!r}")
    if version == 1 and len(set(units)) != 1:
        raise ValueError(f"OVF 1.0 has one valueunit for all three components, got {valueunits!r}")
    title = _header_text(title, "title")
    descs = [] if desc is None else [desc] if isinstance(desc, str) else list(desc)
    descs = [_header_text(d, "desc") for d in descs]
    _, nz, ny, nx = arr.shape
    box = [f"# xmin: {_g(x0)}", f"# ymin: {_g(y0)}", f"# zmin: {_g(z0)}",
           f"# xmax: {_g(x0 + nx * dx)}", f"# ymax: {_g(y0 + ny * dy)}", f"# zmax: {_g(z0 + nz * dz)}"]
    mesh = [f"# xbase: {_g(x0 + dx / 2)}", f"# ybase: {_g(y0 + dy / 2)}", f"# zbase: {_g(z0 + dz / 2)}",
            f"# xnodes: {nx}", f"# ynodes: {ny}", f"# znodes: {nz}",
            f"# xstepsize: {_g(dx)}", f"# ystepsize: {_g(dy)}", f"# zstepsize: {_g(dz)}"]
    lines = [_MAGIC[version], "# Segment count: 1", "# Begin: Segment", "# Begin: Header", f"# Title: {title}"]
    if version == 2:
        lines += ["# meshtype: rectangular", "# meshunit: m", *box,
                  "# valuedim: 3", f"# valuelabels: {' '.join(labels)}", f"# valueunits: {' '.join(units)}"]
        lines += [f"# Desc: {d}" for d in descs] + mesh
    else:  # the order of OOMMF's Oxs output; the fields are order independent
        magnitude = np.sqrt(np.sum(np.asarray(arr, dtype=np.float64) ** 2, axis=0))
        lines += [f"# Desc: {d}" for d in descs]
        lines += ["# meshunit: m", "# meshtype: rectangular", *mesh, *box,
                  f"# valueunit: {units[0]}", "# valuemultiplier: 1",
                  f"# ValueRangeMinMag: {_g(magnitude.min())}", f"# ValueRangeMaxMag: {_g(magnitude.max())}"]
    lines.append("# End: Header")
    nodes = np.moveaxis(arr, 0, -1)  # (nz, ny, nx, 3): C order is x fastest, components together
    kind = {"binary4": "Binary 4", "binary8": "Binary 8", "text": "Text"}[format]
    with atomic_write(path, "wb") as f:
        f.write(("\n".join(lines) + f"\n# Begin: Data {kind}\n").encode("ascii"))
        if format == "text":
            flat = nodes.reshape(-1, 3).astype(np.float64)
            f.write("".join(f"{a!r} {b!r} {c!r}\n" for a, b, c in flat.tolist()).encode("ascii"))
        else:
            size = 4 if format == "binary4" else 8
            dtype = _DTYPES[version][size]
            f.write(np.array(CHECK_VALUES[size], dtype=dtype).tobytes())
            f.write(np.ascontiguousarray(nodes, dtype=dtype).tobytes())
            f.write(b"\n")
        f.write(f"# End: Data {kind}\n# End: Segment\n".encode("ascii"))
    return Path(path)


# ----------------------------------------------------------------------------- reading
_LINE = re.compile(rb"[^\n]*\n?")
_END_DATA = re.compile(rb"^[ \t]*#[ \t]*end[ \t]*:[ \t]*data", re.I | re.M)
_TEXT_COMMENT = re.compile(rb"#[^\n]*")


def _parse_header_line(line):
    """(key, value) of a ``# key: value`` line, key lower-case without whitespace; None for others."""
    text = line.decode("latin-1").rstrip("\r\n")
    if "##" in text:  # a comment runs from '##' to the end of the line (a '##' line is all comment)
        text = text[: text.index("##")]
    if not text.startswith("#"):
        return None
    body = text[1:]
    if ":" not in body:
        return None
    key, value = body.split(":", 1)
    return "".join(key.split()).lower(), value.strip()


def _number(header, key, kind, path):
    try:
        text = header[key]
    except KeyError:
        raise OVFError(f"{path}: header field {key!r} is missing") from None
    try:
        value = kind(float(text)) if kind is int else float(text)
    except (ValueError, OverflowError):
        raise OVFError(f"{path}: header field {key!r} is not a number: {text!r}") from None
    if kind is int and float(text) != value:
        raise OVFError(f"{path}: header field {key!r} must be an integer, got {text!r}")
    return value


def _irregular(path, where):
    return OVFError(f"{path}: irregular meshes are not supported ({where}); only meshtype 'rectangular' "
                    "(values on a regular grid) is read")


def _version(first, path):
    """1 or 2 from the file type identification line, or OVFError."""
    if "".join(first.decode("latin-1").lower().split()) == "#oommfovf2.0":
        return 2
    kv = _parse_header_line(first)
    if kv is not None and kv[0] == "oommf":
        words = kv[1].lower().split()
        if words[:1] == ["irregular"]:
            raise _irregular(path, f"first line {first.decode('latin-1').strip()!r}")
        if len(words) == 3 and words[:2] == ["rectangular", "mesh"] and words[2] in _V1_REVISIONS:
            return 1
    raise OVFError(f"{path}: not an OVF 1.0 or OVF 2.0 file (first line {first[:60]!r}, expected "
                   f"{_MAGIC[2]!r} or {_MAGIC[1]!r}); other formats are not supported")


def _check_finite(values, nodes, path, what):
    bad = ~np.isfinite(values)
    if bad.any():
        node, component = divmod(int(np.flatnonzero(bad)[0]), 3)
        nx, ny, _ = nodes
        x, y, z = node % nx, (node // nx) % ny, node // (nx * ny)
        raise OVFError(f"{path}: {int(bad.sum())} NaN or infinite value(s) {what}, the first at node "
                       f"(x, y, z) = ({x}, {y}, {z}), component {component}; files with NaN are refused, "
                       "not passed on")


def read_ovf(path):
    """Read an OVF 1.0 or OVF 2.0 rectangular-mesh vector field (text, binary 4 or binary 8).

    Parameters
    ----------
    path : str or os.PathLike
        An OVF file as OOMMF or MuMax3 write it; the version is read from
        its first line (``# OOMMF OVF 2.0`` or
        ``# OOMMF: rectangular mesh v1.0``).

    Returns
    -------
    spins : ndarray, float64
        Shape (3, ny, nx) when ``znodes == 1`` (the book's ``(3, H, W)``,
        row y, column x), else (3, nz, ny, nx), in ``valueunits``: OVF 1.0
        values are multiplied by ``valuemultiplier`` (in float64).  Binary 4
        data are converted exactly from float32.  Always finite.
    metadata : dict
        ``version`` (1 or 2), ``title`` (str), ``desc`` (list of str),
        ``meshunit`` (str), ``nodes`` (nx, ny, nz), ``cell`` (dx, dy, dz)
        and ``origin`` (xmin, ymin, zmin) and ``base`` (xbase, ybase,
        zbase) as floats in meshunit (``origin`` is ``base - cell / 2``
        where the file has no bounding box), ``cell_metres`` (dx, dy, dz)
        in metres, or None when ``meshunit`` is not a length unit of
        :data:`METRES_PER_MESHUNIT` (Spirit writes ``unspecified``),
        ``valuelabels`` (list of str; empty in OVF 1.0), ``valueunits``
        (list of str; OVF 1.0's single ``valueunit`` three times),
        ``valuemultiplier`` (float; 1.0 for OVF 2.0), ``format``
        ("binary4", "binary8" or "text") and ``header`` (every header
        field, keys lower-case without spaces).

    Raises
    ------
    OVFError (a ValueError)
        Neither OVF 1.0 nor 2.0; an irregular mesh ("irregular meshes are
        not supported"); more than one segment; ``valuedim != 3``; missing
        or malformed header fields (a non-finite or zero
        ``valuemultiplier``, a ``valuemultiplier`` other than 1 in OVF 2.0,
        which has none); a wrong binary check value (also when the byte
        order is that of the other version); truncated or surplus data, or
        a missing end marker; NaN or infinite values in the data (or after
        the ``valuemultiplier``).  The message names the file.
    FileNotFoundError
        If ``path`` does not exist.

    References
    ----------
    OOMMF user's guide, "Vector Field File Format (OVF)": "The OVF 1.0
    format" (segment header, data block: big-endian binary, check values
    1234567.0 and 123456789012345.0, x fastest) and "The OVF 2.0 format"
    (``valuedim``, ``valuelabels``, ``valueunits``, little-endian binary,
    no ``valuemultiplier``).
    """
    path = Path(path)
    raw = path.read_bytes()
    first = _LINE.match(raw, 0).group()
    version = _version(first, path)
    pos = len(first)
    header, descs = {}, []
    fmt = None
    while pos < len(raw):
        line = _LINE.match(raw, pos).group()
        pos += len(line)
        kv = _parse_header_line(line)
        if kv is None:
            continue
        key, value = kv
        if key == "begin" and value.lower().startswith("data"):
            fmt = "".join(value.lower().split()[1:])
            break
        if key in ("begin", "end"):
            continue
        if key == "desc":
            descs.append(value)
        else:
            header[key] = value
    if fmt is None:
        raise OVFError(f"{path}: no '# Begin: Data' line: the header is incomplete or the file is truncated")
    count = header.get("segmentcount", "1")
    if not count.strip().isdigit() or int(count) != 1:  # an integer, e.g. Spirit's "000001"
        raise OVFError(f"{path}: only single-segment files are supported, got segment count {count!r}")
    if header.get("meshtype", "").lower() == "irregular":
        raise _irregular(path, "meshtype 'irregular'")
    for key in _REQUIRED[version]:
        if key not in header:
            raise OVFError(f"{path}: header field {key!r} is missing")
    if header["meshtype"].lower() != "rectangular":
        raise OVFError(f"{path}: unsupported meshtype {header['meshtype']!r}; only 'rectangular' meshes are read")
    if "valuedim" in header and _number(header, "valuedim", int, path) != 3:
        raise OVFError(f"{path}: valuedim must be 3 (vector fields), got {header['valuedim']!r}")
    multiplier = 1.0
    if "valuemultiplier" in header:
        multiplier = _number(header, "valuemultiplier", float, path)
        if not (math.isfinite(multiplier) and multiplier != 0):
            raise OVFError(f"{path}: valuemultiplier must be a finite nonzero number, got "
                           f"{header['valuemultiplier']!r}")
        if version == 2 and multiplier != 1:
            raise OVFError(f"{path}: valuemultiplier {header['valuemultiplier']!r} in an OVF 2.0 file, which has "
                           "no valuemultiplier (OVF 1.0 only): refusing to guess whether to apply it")
    nodes = tuple(_number(header, f"{a}nodes", int, path) for a in "xyz")
    if min(nodes) < 1:
        raise OVFError(f"{path}: node counts must be >= 1, got {nodes}")
    nx, ny, nz = nodes
    n_values = 3 * nx * ny * nz
    cell = tuple(_number(header, f"{a}stepsize", float, path) for a in "xyz")
    if not all(math.isfinite(c) and c > 0 for c in cell):
        raise OVFError(f"{path}: step sizes must be positive and finite, got {cell}")
    base = tuple(_number(header, f"{a}base", float, path) if f"{a}base" in header else math.nan for a in "xyz")
    origin = tuple(_number(header, f"{a}min", float, path) if f"{a}min" in header else b - s / 2
                   for a, b, s in zip("xyz", base, cell))

    if fmt == "text":
        marker = _END_DATA.search(raw, pos)
        if marker is None:
            raise OVFError(f"{path}: truncated text data: no '# End: Data Text' line")
        end = marker.start()
        block = raw[pos:end]
        if b"#" in block:  # comments are allowed inside text data blocks
            block = _TEXT_COMMENT.sub(b"", block)
        try:
            values = np.array(block.split(), dtype=np.float64)
        except ValueError:
            raise OVFError(f"{path}: the text data block holds something that is not a number") from None
        if values.size != n_values:
            what = "truncated" if values.size < n_values else "surplus"
            raise OVFError(f"{path}: {what} text data: expected {n_values} numbers "
                           f"(3 x {nx} x {ny} x {nz}), got {values.size}")
        end_line = raw[end:]
    elif fmt in ("binary4", "binary8"):
        size = 4 if fmt == "binary4" else 8
        dtype = _DTYPES[version][size]
        need = size * (1 + n_values)
        block = raw[pos:pos + need]
        if len(block) < size:
            raise OVFError(f"{path}: truncated binary data: no check value")
        check = np.frombuffer(block[:size], dtype=dtype)[0]
        if check != CHECK_VALUES[size]:
            other = 1 if version == 2 else 2
            swapped = np.frombuffer(block[:size], dtype=_DTYPES[other][size])[0]
            hint = (f" (the data are {_ENDIAN[other]}, as in OVF {other}.0, but the file says OVF {version}.0)"
                    if swapped == CHECK_VALUES[size] else "")
            raise OVFError(f"{path}: wrong binary check value {float(check)!r}, expected {CHECK_VALUES[size]!r} "
                           f"{_ENDIAN[version]} (OVF {version}.0){hint}")
        if len(block) < need:
            raise OVFError(f"{path}: truncated binary data: expected {need - size} bytes "
                           f"(3 x {nx} x {ny} x {nz} x {size}), got {len(block) - size}")
        values = np.frombuffer(block[size:], dtype=dtype).astype(np.float64)
        end_line = raw[pos + need:].lstrip(b" \t\r\n")
    else:
        raise OVFError(f"{path}: unsupported data format {fmt!r}; expected Text, Binary 4 or Binary 8")
    tail = _parse_header_line(_LINE.match(end_line, 0).group()) if end_line else None
    if tail is None or tail[0] != "end" or not tail[1].lower().startswith("data"):
        raise OVFError(f"{path}: no '# End: Data' line after {n_values} values: "
                       "surplus data or a damaged file")
    _check_finite(values, nodes, path, "in the data")
    if multiplier != 1:
        with np.errstate(over="ignore", invalid="ignore"):
            values = values * multiplier
        _check_finite(values, nodes, path, f"after multiplying by valuemultiplier {multiplier!r}")
    spins = np.moveaxis(values.reshape(nz, ny, nx, 3), -1, 0)
    spins = np.ascontiguousarray(spins[:, 0] if nz == 1 else spins)
    scale = METRES_PER_MESHUNIT.get(header["meshunit"].strip())
    if version == 1:
        units = [header["valueunit"]] * 3 if "valueunit" in header else []
        labels = []
    else:
        units = header.get("valueunits", "").split()
        labels = header.get("valuelabels", "").split()
    metadata = {
        "version": version,
        "title": header.get("title", ""),
        "desc": descs,
        "meshunit": header["meshunit"],
        "nodes": nodes,
        "cell": cell,
        "cell_metres": None if scale is None else tuple(c * scale for c in cell),
        "origin": origin,
        "base": base,
        "valuelabels": labels,
        "valueunits": units,
        "valuemultiplier": multiplier,
        "format": fmt,
        "header": header,
    }
    return spins, metadata
