r"""OVF 2.0 files (OOMMF, MuMax3): read and write vector fields on rectangular meshes.

The OOMMF Vector Field format 2.0 (OOMMF user's guide, "Vector field file
format (OVF)") is what MuMax3 (``save(m)``) and OOMMF write, so states from
those simulators can be loaded into the book and ours exported to them.  A
file is one text header and one data block:

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

Header keywords are case-insensitive and ignore whitespace; ``##`` starts a
comment.  Data: ``Text`` (whitespace-separated numbers), ``Binary 4``
(IEEE float32) or ``Binary 8`` (float64), binary little-endian in OVF 2.0 and
preceded by a check value (1234567.0 for 4 bytes, 123456789012345.0 for 8
bytes).  Values are stored node by node (the ``valuedim`` components of a
node together), x fastest, then y, then z.

Array convention of the book: a state is ``(3, H, W)``, row index y and
column index x, which is the OVF mesh with ``znodes = 1``,
``ynodes = H``, ``xnodes = W``; 3D fields are ``(3, nz, ny, nx)``.  Empty
cells (vacancies, outside a disk) are stored as zero vectors, as MuMax3 does.

Only single-segment, rectangular-mesh, three-component files are handled;
anything else raises :class:`OVFError` with the reason.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..files import atomic_write

__all__ = ["read_ovf", "write_ovf", "OVFError", "FORMATS", "CHECK_VALUES"]

FORMATS = ("binary4", "binary8", "text")
#: Binary check values of OVF 2.0, written little-endian before the data.
CHECK_VALUES = {4: 1234567.0, 8: 123456789012345.0}
_DTYPES = {4: "<f4", 8: "<f8"}
_MAGIC = "# OOMMF OVF 2.0"
_REQUIRED = ("meshtype", "meshunit", "xnodes", "ynodes", "znodes", "xstepsize", "ystepsize", "zstepsize",
             "valuedim")


class OVFError(ValueError):
    """A file that is not a readable OVF 2.0 rectangular vector field (the message says why)."""


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
    return text


def write_ovf(path, spins, *, cell, format="binary4", title="", origin=(0.0, 0.0, 0.0), desc=None,
              valuelabels=("m_x", "m_y", "m_z"), valueunits="1"):
    """Write a vector field to an OVF 2.0 file (rectangular mesh), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (conventionally ``*.ovf``).  Written under a temporary
        name and renamed when complete; a failed write leaves an existing
        file untouched.
    spins : array_like, float, shape (3, H, W) or (3, nz, ny, nx)
        Components first; row index y, column index x (the book's
        convention).  Any finite values (unit vectors, or fields in
        ``valueunits``); zeros mark empty cells.
    cell : (float, float, float)
        Cell size (dx, dy, dz) [m], each > 0.
    format : {"binary4", "binary8", "text"}
        Data block: float32 or float64 little-endian, or text (Python's
        shortest repr of each float64, an exact round trip).
    title : str
        ``Title`` header line (MuMax3 writes the quantity, e.g. ``m``).
    origin : (float, float, float)
        Corner (xmin, ymin, zmin) of the mesh [m]; the first cell centre is
        ``origin + cell / 2``.
    desc : str or sequence of str, optional
        ``Desc`` header lines.
    valuelabels : sequence of 3 str
        Component labels (no spaces inside a label).
    valueunits : str or sequence of 3 str
        Unit of the values (``"1"`` for the reduced magnetisation, ``"A/m"``
        for M).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        Bad shape, non-finite values, bad cell, origin, format or header text.
    TypeError
        Non-numeric ``spins``.

    References
    ----------
    OOMMF user's guide, "OVF 2.0 format"; MuMax3 (Vansteenkiste et al., AIP
    Advances 4, 107133 (2014)) writes this format with ``save``.
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
    dx, dy, dz = _check_cell(cell)
    x0, y0, z0 = _check_origin(origin)
    labels = [_header_text(v, "valuelabels") for v in valuelabels]
    units = [valueunits] * 3 if isinstance(valueunits, str) else list(valueunits)
    units = [_header_text(v, "valueunits") for v in units]
    if len(labels) != 3 or len(units) != 3 or any(not v or " " in v for v in labels + units):
        raise ValueError(f"valuelabels and valueunits need 3 entries without spaces, got {valuelabels!r}, "
                         f"{valueunits!r}")
    descs = [] if desc is None else [desc] if isinstance(desc, str) else list(desc)
    _, nz, ny, nx = arr.shape
    lines = [_MAGIC, "# Segment count: 1", "# Begin: Segment", "# Begin: Header",
             f"# Title: {_header_text(title, 'title')}", "# meshtype: rectangular", "# meshunit: m",
             f"# xmin: {_g(x0)}", f"# ymin: {_g(y0)}", f"# zmin: {_g(z0)}",
             f"# xmax: {_g(x0 + nx * dx)}", f"# ymax: {_g(y0 + ny * dy)}", f"# zmax: {_g(z0 + nz * dz)}",
             "# valuedim: 3", f"# valuelabels: {' '.join(labels)}", f"# valueunits: {' '.join(units)}"]
    lines += [f"# Desc: {_header_text(d, 'desc')}" for d in descs]
    lines += [f"# xbase: {_g(x0 + dx / 2)}", f"# ybase: {_g(y0 + dy / 2)}", f"# zbase: {_g(z0 + dz / 2)}",
              f"# xnodes: {nx}", f"# ynodes: {ny}", f"# znodes: {nz}",
              f"# xstepsize: {_g(dx)}", f"# ystepsize: {_g(dy)}", f"# zstepsize: {_g(dz)}", "# End: Header"]
    nodes = np.moveaxis(arr, 0, -1)  # (nz, ny, nx, 3): C order is x fastest, components together
    kind = {"binary4": "Binary 4", "binary8": "Binary 8", "text": "Text"}[format]
    with atomic_write(path, "wb") as f:
        f.write(("\n".join(lines) + f"\n# Begin: Data {kind}\n").encode("ascii"))
        if format == "text":
            flat = nodes.reshape(-1, 3).astype(np.float64)
            f.write("".join(f"{a!r} {b!r} {c!r}\n" for a, b, c in flat.tolist()).encode("ascii"))
        else:
            size = 4 if format == "binary4" else 8
            f.write(np.array(CHECK_VALUES[size], dtype=_DTYPES[size]).tobytes())
            f.write(np.ascontiguousarray(nodes, dtype=_DTYPES[size]).tobytes())
            f.write(b"\n")
        f.write(f"# End: Data {kind}\n# End: Segment\n".encode("ascii"))
    return Path(path)


# ----------------------------------------------------------------------------- reading
_LINE = re.compile(rb"[^\n]*\n?")
_COMMENT_LINE = re.compile(rb"^[ \t]*#", re.M)


def _parse_header_line(line):
    """(key, value) of a ``# key: value`` line, key lower-case without whitespace; None for others."""
    text = line.decode("latin-1").rstrip("\r\n")
    if not text.startswith("#"):
        return None
    body = text[1:]
    if "##" in body:
        body = body[: body.index("##")]
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


def read_ovf(path):
    """Read an OVF 2.0 rectangular-mesh vector field (text, binary 4 or binary 8).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    spins : ndarray, float64
        Shape (3, ny, nx) when ``znodes == 1`` (the book's ``(3, H, W)``,
        row y, column x), else (3, nz, ny, nx).  Binary 4 data are converted
        exactly from float32.
    metadata : dict
        ``title`` (str), ``desc`` (list of str), ``meshunit`` (str),
        ``nodes`` (nx, ny, nz), ``cell`` (dx, dy, dz) and ``origin``
        (xmin, ymin, zmin) and ``base`` (xbase, ybase, zbase) as floats in
        meshunit, ``valuelabels`` and ``valueunits`` (lists of str),
        ``format`` ("binary4", "binary8" or "text") and ``header`` (every
        header field, keys lower-case without spaces).

    Raises
    ------
    OVFError (a ValueError)
        Not OVF 2.0, more than one segment, a mesh type other than
        rectangular, ``valuedim != 3``, missing or malformed header fields,
        a wrong binary check value (also when the data are big-endian),
        truncated or surplus data, or a missing end marker.
    FileNotFoundError
        If ``path`` does not exist.

    References
    ----------
    OOMMF user's guide, "OVF 2.0 format".
    """
    path = Path(path)
    raw = path.read_bytes()
    pos = 0
    first = _LINE.match(raw, pos).group()
    if not first.decode("latin-1").strip().lower().replace(" ", "") == _MAGIC.lower().replace(" ", ""):
        raise OVFError(f"{path}: not an OVF 2.0 file (first line {first[:60]!r}, expected {_MAGIC!r}); "
                       "OVF 1.0 and other formats are not supported")
    pos += len(first)
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
    for key in _REQUIRED:
        if key not in header:
            raise OVFError(f"{path}: header field {key!r} is missing")
    if header["meshtype"].lower() != "rectangular":
        raise OVFError(f"{path}: unsupported meshtype {header['meshtype']!r}; only 'rectangular' meshes are read")
    if _number(header, "valuedim", int, path) != 3:
        raise OVFError(f"{path}: valuedim must be 3 (vector fields), got {header['valuedim']!r}")
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
        marker = _COMMENT_LINE.search(raw, pos)  # numbers never start with '#'
        if marker is None:
            raise OVFError(f"{path}: truncated text data: no '# End: Data Text' line")
        end = marker.start()
        try:
            values = np.array(raw[pos:end].split(), dtype=np.float64)
        except ValueError:
            raise OVFError(f"{path}: the text data block holds something that is not a number") from None
        if values.size != n_values:
            what = "truncated" if values.size < n_values else "surplus"
            raise OVFError(f"{path}: {what} text data: expected {n_values} numbers "
                           f"(3 x {nx} x {ny} x {nz}), got {values.size}")
        end_line = raw[end:]
    elif fmt in ("binary4", "binary8"):
        size = 4 if fmt == "binary4" else 8
        need = size * (1 + n_values)
        block = raw[pos:pos + need]
        if len(block) < size:
            raise OVFError(f"{path}: truncated binary data: no check value")
        check = np.frombuffer(block[:size], dtype=_DTYPES[size])[0]
        if check != CHECK_VALUES[size]:
            swapped = np.frombuffer(block[:size], dtype=_DTYPES[size].replace("<", ">"))[0]
            hint = " (the data are big-endian, as in OVF 1.0)" if swapped == CHECK_VALUES[size] else ""
            raise OVFError(f"{path}: wrong binary check value {float(check)!r}, expected {CHECK_VALUES[size]!r} "
                           f"little-endian{hint}")
        if len(block) < need:
            raise OVFError(f"{path}: truncated binary data: expected {need - size} bytes "
                           f"(3 x {nx} x {ny} x {nz} x {size}), got {len(block) - size}")
        values = np.frombuffer(block[size:], dtype=_DTYPES[size]).astype(np.float64)
        end_line = raw[pos + need:].lstrip(b" \t\r\n")
    else:
        raise OVFError(f"{path}: unsupported data format {fmt!r}; expected Text, Binary 4 or Binary 8")
    tail = _parse_header_line(_LINE.match(end_line, 0).group()) if end_line else None
    if tail is None or tail[0] != "end" or not tail[1].lower().startswith("data"):
        raise OVFError(f"{path}: no '# End: Data' line after {n_values} values: "
                       "surplus data or a damaged file")
    spins = np.moveaxis(values.reshape(nz, ny, nx, 3), -1, 0)
    spins = np.ascontiguousarray(spins[:, 0] if nz == 1 else spins)
    metadata = {
        "title": header.get("title", ""),
        "desc": descs,
        "meshunit": header["meshunit"],
        "nodes": nodes,
        "cell": cell,
        "origin": origin,
        "base": base,
        "valuelabels": header.get("valuelabels", "").split(),
        "valueunits": header.get("valueunits", "").split(),
        "format": fmt,
        "header": header,
    }
    return spins, metadata

