"""AFAD strong-motion records stored as MATLAB ``.mat`` files with labels, as an ObsPy format.

Registered with ObsPy as ``"AFADMAT"``, so ``obspy.read("20120114055233_2404.mat")`` works once
obspy-gen is installed. These are the records of the AFAD-1218 set used by CNNLSTM_DeepEQ: a
MATLAB 5 file holding one struct ``EQ.anEQ`` with the AFAD header, the acceleration and labels
added by the set's authors (Vs30, P and S arrival times, f0, ...).

**Parser.** The file is parsed by a small bounded MAT v5 reader in this module, not by
``scipy.io.loadmat``: scipy's compiled reader can crash the interpreter (segmentation fault) or
allocate gigabytes on a damaged file, which must never happen inside ``obspy.read``. Every size
here is checked against the bytes present, so a damaged file is a ``ValueError``.

Fields used (each a MATLAB 2-D array):

============  ===========================================================================
Accel         (npts, 3) acceleration in gal, uncorrected; columns N-S, E-W, U-D (the AFAD
              text order; the set's code does not say, but ``pga`` matches the columns)
sampling      sampling **interval** in s (0.01)
numofData     npts (uint16 in the files: saturates at 65535, which is allowed for)
statID        AFAD station id (uint16: leading zeros are lost and restored here)
statco, alt   station [lat, lon] (deg) and altitude (m)
epicenter     [lat, lon]; ``depth`` in **metres** (converted to km)
magnitudeval  magnitude; ``magnitudetype`` e.g. "ML"
recordtype    recorder model; ``recordno`` its serial (often empty)
place         site name (Turkish letters mis-encoded, cp1254 read as latin-1; repaired)
date          event time; ``recordtime`` = record start (MATLAB ``datetime`` objects)
pga           (1, 3) PGA in gal per column
Vs30          m/s; ``F0`` text with a Turkish decimal comma ("4,6" = 4.6 Hz) or empty;
              ``slope`` text (e.g. "S0") or empty; ``Rhyp`` hypocentral distance in km
Ptime, Stime  P and S arrival in **seconds from the record start**
HSVR, SA      H/V curve (30 values, frequency axis not stored) and (10, 4) response spectra
              (column 0 = period in s; units not documented)
============  ===========================================================================

**Start time.** ``scipy.io.loadmat`` cannot decode MATLAB ``datetime`` objects (it returns an
opaque handle), but their values are stored in the file's MCOS subsystem (the nameless variable
scipy calls ``__function_workspace__``); this reader decodes them there, and the record start is
``recordtime``. Only when that fails does it fall back to the file name
``YYYYMMDDhhmmss_SSSS`` -- with a warning, because that time is the **event** time (the same
as ``date``; AFAD names files by event time) and the record usually starts a few seconds
earlier (2-16 s in the shared sample files). ``stats.afad.starttime_source`` says which was
used. All times are taken as UTC (AFAD's file names and headers are GMT).

The Stream has the same shape as the AFAD ASCII reader's (see :mod:`obspy_gen.io.afad.core`):
``TK.<station>..HNN/HNE/HNZ``, gal by default (``to_si=True`` for m/s**2), ``stats.coordinates``
and the labels in ``stats.afad``, which here also holds ``vs30`` (m/s), ``f0`` (Hz),
``slope``, ``rhyp`` (km), ``p_arrival`` / ``s_arrival`` (UTCDateTime) with ``p_arrival_offset``
/ ``s_arrival_offset`` (s after the start), ``hsvr``, ``sa_periods``, ``sa`` (this component's
column) and ``pga`` (this component's, gal). Unknown labels are ``None``.
"""
from __future__ import annotations

import os
import re
import warnings
import zlib

import numpy as np
from obspy import Stream, UTCDateTime

from obspy_gen.io.afad.core import (COMPONENTS, _build_stream, _probe, _read_bytes,
                                    _source_name, _station_code, _to_float)

__all__ = []  # the public interface is obspy.read(..., format="AFADMAT")

_MAT5_MAGIC = b"MATLAB 5.0 MAT-file"
_FILENAME_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_([A-Za-z0-9]{1,5})")


def _is_afad_mat(filename_or_buf) -> bool:
    """Whether a file is a MATLAB 5 file whose first variable is a struct ``EQ`` (AFAD record).

    Reads at most the first 4 KiB (the first variable's header, decompressed if needed).
    Never raises.

    :type filename_or_buf: str or file-like object
    :param filename_or_buf: File to test.
    :rtype: bool

    Examples
    --------
    >>> import io, tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = _write_example_mat(os.path.join(d, "20120114055233_2404.mat"))
    ...     _is_afad_mat(path)
    True
    >>> _is_afad_mat(io.BytesIO(b"MATLAB 5.0 MAT-file, but then nothing"))
    False
    """
    def test(head):
        return head.startswith(_MAT5_MAGIC) and _first_variable(head) == ("EQ", _MX_STRUCT)

    return _probe(filename_or_buf, 4096, test)


def _read_afad_mat(filename_or_buf, headonly=False, to_si=False, **kwargs) -> Stream:
    """Read an AFAD ``.mat`` record (struct ``EQ.anEQ``) into a 3-trace Stream (N, E, Z).

    Normally called through ``obspy.read(path)`` (format ``"AFADMAT"``).

    :type filename_or_buf: str or file-like object
    :param filename_or_buf: The ``.mat`` file (MATLAB 5; v7.3/HDF5 files are not supported).
    :type headonly: bool
    :param headonly: Return traces without data (the whole file is still loaded).
    :type to_si: bool
    :param to_si: Convert the data from gal to m/s**2 (``stats.units`` says which).
    :rtype: :class:`~obspy.core.stream.Stream`
    :raises ValueError: The file is not a readable AFAD record; the message names the file and
        the field (e.g. ``Accel`` rows differ from ``numofData``) or the damaged byte offset.

    Examples
    --------
    >>> import tempfile, os, warnings
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = _write_example_mat(os.path.join(d, "20120114055233_2404.mat"))
    ...     with warnings.catch_warnings(record=True) as w:  # example file: no datetime objects
    ...         warnings.simplefilter("always")
    ...         st = _read_afad_mat(path)
    >>> print(st)  # doctest: +ELLIPSIS
    3 Trace(s) in Stream:
    TK.2404..HNN | 2012-01-14T05:52:33.000000Z - 2012-01-14T05:52:33.040000Z | 100.0 Hz, 5 samples
    ...
    >>> a = st[0].stats.afad
    >>> a.vs30, a.f0, a.p_arrival_offset, a.p_arrival, a.starttime_source
    (567.0, 4.6, 0.02, UTCDateTime(2012, 1, 14, 5, 52, 33, 20000), 'file name (event time)')
    """
    source = _source_name(filename_or_buf)
    mat = _load(filename_or_buf, source)
    s = _record_struct(mat, source)

    accel = _array(s, "Accel", source)
    if accel is None or accel.ndim != 2 or accel.shape[1] != 3 or accel.shape[0] < 1:
        shape = None if accel is None else accel.shape
        raise ValueError(f"{source}: field 'Accel': expected an (npts, 3) array, got {shape}")
    accel = accel.real.astype(np.float64)
    if not np.isfinite(accel).all():
        row = int(np.flatnonzero(~np.isfinite(accel).all(axis=1))[0])
        raise ValueError(f"{source}: field 'Accel': row {row + 1} is not finite")
    npts = accel.shape[0]
    declared = _number(s, "numofData", source)
    # numofData is uint16 in these files; MATLAB saturates at 65535 for longer records.
    if declared is not None and not (declared == npts or (declared == 65535 and npts > 65535)):
        raise ValueError(f"{source}: field 'numofData' says {declared:g} samples but 'Accel' has "
                         f"{npts} rows (truncated or damaged file?)")
    delta = _number(s, "sampling", source, required=True)
    if not delta > 0:
        raise ValueError(f"{source}: field 'sampling' (sampling interval, s) must be positive, "
                         f"got {delta}")

    station = _station_code(_integer_or_text(s, "statID", source), source, "field 'statID'")
    labels = _labels(s, source, station)
    event_time, starttime, start_source = _times(mat, s, source, filename_or_buf)
    labels["event_time"] = event_time
    labels["starttime_source"] = start_source
    for phase in ("p", "s"):
        offset = _number(s, phase.upper() + "time", source)
        labels[f"{phase}_arrival_offset"] = offset
        labels[f"{phase}_arrival"] = None if offset is None else starttime + offset

    pga = _vector(s, "pga", source, 3)
    sa = _field(s, "SA", source)
    sa_ok = (isinstance(sa, np.ndarray) and sa.ndim == 2 and sa.shape[1] == 4
             and sa.dtype.kind in "fiu")
    labels["sa_periods"] = tuple(float(v) for v in sa[:, 0]) if sa_ok else None
    per_component = [{"component": label,
                      "pga": None if pga is None else float(pga[i]),
                      "sa": tuple(float(v) for v in sa[:, i + 1]) if sa_ok else None}
                     for i, (label, _) in enumerate(COMPONENTS)]
    columns = None if headonly else [accel[:, i] for i in range(3)]
    return _build_stream(columns, source=source, station=station, starttime=starttime,
                         delta=delta, npts=npts, labels=labels, per_component=per_component,
                         to_si=to_si, headonly=headonly, fmt="AFADMAT")


# ----------------------------------------------------------------------------- MAT v5 parser
# Format: "MAT-File Format", The MathWorks (matfile_format.pdf). Only what these records need:
# numeric, logical, char, struct/object, cell and opaque (MCOS object) arrays; sparse and
# function handles are returned as None.

_MI_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8",
              13: "u8"}
_MI_MATRIX, _MI_COMPRESSED, _MI_UTF8, _MI_UTF16, _MI_UTF32 = 14, 15, 16, 17, 18
_MX_NUMERIC = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
               14: "i8", 15: "u8"}
_MX_CELL, _MX_STRUCT, _MX_OBJECT, _MX_CHAR, _MX_OPAQUE = 1, 2, 3, 4, 17
_MAX_DEPTH = 32
#: Largest decompressed variable accepted (a 1-hour 200 Hz 3-component record is ~17 MB).
_MAX_INFLATED = 512 * 2**20


class _MatFormatError(ValueError):
    """Damaged MAT-file structure; the message gives the byte offset."""


class _Struct(list):
    """A MATLAB struct array: a list of {field: value} in column-major order, with ``shape``."""

    def __init__(self, records, shape, fields):
        super().__init__(records)
        self.shape, self.fields = shape, fields


class _Cell(list):
    """A MATLAB cell array: a list of values in column-major order, with ``shape``."""

    def __init__(self, items, shape):
        super().__init__(items)
        self.shape = shape


class _Mat5:
    """Bounded reader of MAT v5 data elements in one bytes buffer."""

    def __init__(self, buf: bytes, endian: str, where: str = ""):
        self.buf, self.endian, self.where = buf, endian, where
        self.order = "little" if endian == "<" else "big"

    def fail(self, pos, what):
        raise _MatFormatError(f"{self.where}byte {pos}: {what}")

    def tag(self, pos, end):
        """(type, nbytes, data start, next element) of the element at ``pos``."""
        if pos + 8 > end:
            self.fail(pos, "data element runs past the end")
        word = int.from_bytes(self.buf[pos:pos + 4], self.order)
        if word >> 16:  # small element: type and size in one word, data in the next 4 bytes
            mtype, nbytes = word & 0xFFFF, word >> 16
            if nbytes > 4:
                self.fail(pos, f"small data element of {nbytes} bytes")
            return mtype, nbytes, pos + 4, pos + 8
        nbytes = int.from_bytes(self.buf[pos + 4:pos + 8], self.order)
        start = pos + 8
        if start + nbytes > end:
            self.fail(pos, f"data element of {nbytes} bytes runs past the end")
        padded = nbytes if word == _MI_COMPRESSED else (nbytes + 7) // 8 * 8
        return word, nbytes, start, min(start + padded, end)

    def element(self, pos, end):
        """(type, raw bytes, next element)."""
        mtype, nbytes, start, nxt = self.tag(pos, end)
        return mtype, self.buf[start:start + nbytes], nxt

    def numbers(self, pos, mtype, raw):
        code = _MI_DTYPES.get(mtype)
        if code is None:
            self.fail(pos, f"expected numeric data, got element type {mtype}")
        dtype = np.dtype(code).newbyteorder(self.endian)
        if len(raw) % dtype.itemsize:
            self.fail(pos, f"{len(raw)} bytes is not a whole number of {code} values")
        return np.frombuffer(raw, dtype)

    def text(self, pos, end):
        """An miINT8 name element -> (str, next)."""
        mtype, raw, nxt = self.element(pos, end)
        if mtype not in (1, 2):
            self.fail(pos, f"expected a name (int8), got element type {mtype}")
        return raw.split(b"\x00", 1)[0].decode("latin-1"), nxt

    def header(self, pos, end):
        """Array flags, dims and name of the miMATRIX body at ``pos``.

        Returns (class, complex, logical, dims, name, next); opaque arrays have no dims.
        """
        mtype, raw, pos2 = self.element(pos, end)
        flags = self.numbers(pos, mtype, raw)
        if flags.size < 2:
            self.fail(pos, "array flags too short")
        word = int(flags[0])
        mclass, is_complex, is_logical = word & 0xFF, bool(word >> 11 & 1), bool(word >> 9 & 1)
        if mclass == _MX_OPAQUE:
            name, pos2 = self.text(pos2, end)
            return mclass, False, False, None, name, pos2
        mtype, raw, pos3 = self.element(pos2, end)
        dims = self.numbers(pos2, mtype, raw)
        if mtype != 5 or dims.size < 2 or (dims < 0).any():
            self.fail(pos2, "bad array dimensions")
        name, pos4 = self.text(pos3, end)
        return mclass, is_complex, is_logical, tuple(int(d) for d in dims), name, pos4

    def matrix(self, pos, end, depth=0):
        """The miMATRIX element at ``pos`` -> (name, value, next)."""
        mtype, nbytes, start, nxt = self.tag(pos, end)
        if mtype != _MI_MATRIX:
            self.fail(pos, f"expected an array (miMATRIX), got element type {mtype}")
        if nbytes == 0:  # MATLAB's empty []
            return "", np.zeros((0, 0)), nxt
        if depth > _MAX_DEPTH:
            self.fail(pos, "arrays nested too deeply")
        name, value = self.body(start, start + nbytes, depth)
        return name, value, nxt

    def body(self, pos, end, depth):
        mclass, is_complex, is_logical, dims, name, pos = self.header(pos, end)
        if mclass == _MX_OPAQUE:  # MATLAB object: type system, class, then its data array
            type_system, pos = self.text(pos, end)
            class_name, pos = self.text(pos, end)
            _, arr, pos = self.matrix(pos, end, depth + 1)
            return name, {"type_system": type_system, "class": class_name, "arr": arr}
        count = int(np.prod(dims, dtype=object))
        if mclass in _MX_NUMERIC:
            mtype, raw, pos2 = self.element(pos, end)
            values = self.numbers(pos, mtype, raw)
            if values.size != count:
                self.fail(pos, f"{values.size} values for dimensions {dims}")
            arr = values.astype(_MX_NUMERIC[mclass])
            if is_complex:
                mtype, raw, _ = self.element(pos2, end)
                imag = self.numbers(pos2, mtype, raw)
                if imag.size != count:
                    self.fail(pos2, f"{imag.size} imaginary values for dimensions {dims}")
                arr = arr + 1j * imag.astype(np.float64)
            if is_logical:
                arr = arr.astype(bool)
            return name, arr.reshape(dims, order="F")
        if mclass == _MX_CHAR:
            mtype, raw, _ = self.element(pos, end)
            if mtype in (_MI_UTF8, 1, 2):
                try:
                    chars = list(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    chars = list(raw.decode("latin-1"))
            elif mtype in (_MI_UTF16, 3, 4, _MI_UTF32, 5, 6):
                codes = self.numbers(pos, {_MI_UTF16: 4, _MI_UTF32: 6}.get(mtype, mtype), raw)
                if codes.size and (int(codes.max()) >= 0x110000 or int(codes.min()) < 0):
                    self.fail(pos, "character code out of range")
                chars = [chr(c) for c in codes.tolist()]
            else:
                self.fail(pos, f"unknown character encoding (element type {mtype})")
            if dims[0] <= 1:
                return name, "".join(chars)
            if len(chars) != count:
                self.fail(pos, f"{len(chars)} characters for dimensions {dims}")
            rows = np.array(chars, dtype=object).reshape(dims[:2], order="F")
            return name, "\n".join("".join(row) for row in rows)
        if mclass in (_MX_STRUCT, _MX_OBJECT):
            if mclass == _MX_OBJECT:
                _, pos = self.text(pos, end)  # class name
            mtype, raw, pos2 = self.element(pos, end)
            length = self.numbers(pos, mtype, raw)
            if mtype != 5 or length.size != 1 or int(length[0]) < 1:
                self.fail(pos, "bad struct field name length")
            length = int(length[0])
            mtype, raw, pos = self.element(pos2, end)
            if mtype not in (1, 2) or len(raw) % length:
                self.fail(pos2, "bad struct field names")
            fields = [raw[i:i + length].split(b"\x00", 1)[0].decode("latin-1")
                      for i in range(0, len(raw), length)]
            if count * len(fields) * 8 > end - pos:  # every value takes at least 8 bytes
                self.fail(pos, f"struct {dims} with {len(fields)} fields does not fit")
            records = []
            for _ in range(count):
                record = {}
                for field in fields:
                    _, record[field], pos = self.matrix(pos, end, depth + 1)
                records.append(record)
            return name, _Struct(records, dims, fields)
        if mclass == _MX_CELL:
            if count * 8 > end - pos:
                self.fail(pos, f"cell {dims} does not fit")
            items = []
            for _ in range(count):
                _, item, pos = self.matrix(pos, end, depth + 1)
                items.append(item)
            return name, _Cell(items, dims)
        return name, None  # sparse, function handle: not used by these records


def _endian(indicator: bytes) -> str:
    if indicator == b"IM":
        return "<"
    if indicator == b"MI":
        return ">"
    raise _MatFormatError(f"bad endian indicator {indicator!r}")


def _inflate(raw: bytes, limit: int = _MAX_INFLATED, max_length: int = 0) -> bytes:
    """zlib-decompress at most ``limit`` bytes (or only the first ``max_length``)."""
    try:
        out = zlib.decompressobj().decompress(raw, max_length or limit + 1)
    except zlib.error as exc:
        raise _MatFormatError(f"damaged compressed data ({exc})") from None
    if not max_length and len(out) > limit:
        raise _MatFormatError(f"variable decompresses to more than {limit} bytes")
    return out


def _parse_mat(data: bytes) -> dict:
    """All variables of a MAT v5 file: {name: value}; the nameless subsystem variable is
    stored as ``"__function_workspace__"`` (as scipy does)."""
    if len(data) < 128:
        raise _MatFormatError("file shorter than the 128-byte header")
    endian = _endian(data[126:128])
    top = _Mat5(data, endian)
    variables, pos = {}, 128
    while pos < len(data):
        mtype, nbytes, start, nxt = top.tag(pos, len(data))
        if mtype == _MI_COMPRESSED:
            inner = _inflate(data[start:start + nbytes])
            reader = _Mat5(inner, endian, where=f"compressed variable at byte {pos}: ")
            name, value, _ = reader.matrix(0, len(inner))
        elif mtype == _MI_MATRIX:
            name, value, _ = top.matrix(pos, len(data))
        else:
            top.fail(pos, f"expected a variable, got element type {mtype}")
        variables[name or "__function_workspace__"] = value
        pos = nxt
    return variables


def _first_variable(head: bytes):
    """(name, class) of the first variable, from the first bytes of a file only."""
    top = _Mat5(head, _endian(head[126:128]))
    if len(head) < 136:
        return None, None
    word = int.from_bytes(head[128:132], top.order)
    if word == _MI_COMPRESSED:
        nbytes = int.from_bytes(head[132:136], top.order)
        body = _inflate(head[136:136 + nbytes], max_length=512)  # a prefix inflates fine
        if len(body) < 8 or int.from_bytes(body[:4], top.order) != _MI_MATRIX:
            return None, None
        reader, pos = _Mat5(body, top.endian), 8
    elif word == _MI_MATRIX:
        reader, pos = top, 136
    else:
        return None, None
    mclass, _, _, _, name, _ = reader.header(pos, len(reader.buf))
    return name, mclass


def _load(filename_or_buf, source) -> dict:
    """Parse the file; every failure is a ValueError naming the file."""
    try:
        data = _read_bytes(filename_or_buf)
    except OSError as exc:
        raise ValueError(f"{source}: cannot read file: {exc}") from exc
    if data.startswith(b"MATLAB 7.3 MAT-file"):
        raise ValueError(f"{source}: MATLAB v7.3 (HDF5) files are not supported; save with "
                         f"-v7 or read with h5py")
    if not data.startswith(_MAT5_MAGIC):
        raise ValueError(f"{source}: not a MATLAB 5 MAT-file (header {data[:20]!r})")
    try:
        return _parse_mat(data)
    except _MatFormatError as exc:
        raise ValueError(f"{source}: damaged MAT-file: {exc}") from None


# ----------------------------------------------------------------------------- fields

def _record_struct(mat, source):
    """The 1x1 struct EQ.anEQ as a dict."""
    eq = mat.get("EQ")
    if not (isinstance(eq, _Struct) and len(eq) == 1 and "anEQ" in eq.fields):
        raise ValueError(f"{source}: no struct variable 'EQ' with field 'anEQ' "
                         f"(variables: {sorted(k for k in mat if not k.startswith('__'))})")
    rec = eq[0]["anEQ"]
    if not (isinstance(rec, _Struct) and len(rec) == 1):
        raise ValueError(f"{source}: field 'EQ.anEQ' is not a 1x1 struct")
    return rec[0]


def _field(s, name, source):
    """Field value, or None when absent or empty."""
    value = s.get(name)
    if isinstance(value, np.ndarray) and value.size == 0:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _array(s, name, source):
    """A numeric field as an ndarray (None when absent/empty)."""
    value = _field(s, name, source)
    if value is None:
        return None
    if not (isinstance(value, np.ndarray) and value.dtype.kind in "fiubc"):
        raise ValueError(f"{source}: field '{name}': expected numbers, got "
                         f"{type(value).__name__}")
    return value


def _number(s, name, source, required=False):
    """A scalar numeric field as float (None when absent, empty or NaN)."""
    value = _array(s, name, source)
    if value is None:
        if required:
            raise ValueError(f"{source}: field '{name}' is missing or empty")
        return None
    if value.size != 1:
        raise ValueError(f"{source}: field '{name}': expected one number, got an array of "
                         f"shape {value.shape}")
    number = float(value.real.ravel()[0])
    if not np.isfinite(number):
        if required:
            raise ValueError(f"{source}: field '{name}' is not a finite number")
        return None
    return number


def _vector(s, name, source, n):
    """A numeric field of exactly n values, or None when absent/empty."""
    value = _array(s, name, source)
    if value is None:
        return None
    if value.size != n:
        raise ValueError(f"{source}: field '{name}': expected {n} numbers, got an array of "
                         f"shape {value.shape}")
    return value.real.astype(np.float64).ravel()


def _text(s, name, source):
    """A char field as str (None when absent or empty)."""
    value = _field(s, name, source)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{source}: field '{name}': expected text, got {type(value).__name__}")
    return value.strip() or None


def _integer_or_text(s, name, source):
    value = _field(s, name, source)
    if value is None:
        raise ValueError(f"{source}: field '{name}' is missing or empty")
    if isinstance(value, str):
        return value.strip()
    number = _number(s, name, source, required=True)
    if number != int(number) or number < 0:
        raise ValueError(f"{source}: field '{name}': {number} is not a station number")
    return str(int(number))


def _repair_turkish(text):
    """The place names were cp1254 bytes read as latin-1 ('MUðLA' -> 'MUĞLA')."""
    try:
        return text.encode("latin-1").decode("cp1254")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _positive(value):
    return value if value is not None and value > 0 else None


def _labels(s, source, station):
    """stats.afad labels (besides times and per-component values)."""
    labels = {"place": None, "station_id": station}
    place = _text(s, "place", source)
    labels["place"] = None if place is None else _repair_turkish(place)
    statco = _vector(s, "statco", source, 2)
    labels["station_latitude"], labels["station_longitude"] = (
        (None, None) if statco is None else (float(statco[0]), float(statco[1])))
    labels["station_altitude"] = _number(s, "alt", source)
    epi = _vector(s, "epicenter", source, 2)
    labels["event_time"] = None  # filled in by the caller
    labels["event_latitude"], labels["event_longitude"] = (
        (None, None) if epi is None else (float(epi[0]), float(epi[1])))
    depth = _number(s, "depth", source)
    labels["event_depth"] = None if depth is None else depth / 1000.0  # file: metres
    labels["magnitude"] = _number(s, "magnitudeval", source)
    labels["magnitude_type"] = _text(s, "magnitudetype", source)
    labels["recorder_type"] = _text(s, "recordtype", source)
    serial = _field(s, "recordno", source)
    if serial is None or isinstance(serial, str):
        labels["recorder_serial"] = _text(s, "recordno", source)
    else:
        number = _number(s, "recordno", source)
        labels["recorder_serial"] = None if number is None else f"{number:g}"
    labels["vs30"] = _positive(_number(s, "Vs30", source))
    if isinstance(_field(s, "F0", source), str):
        text = _text(s, "F0", source)  # Turkish decimal comma: "4,6" = 4.6 Hz
        f0 = None if text is None else _to_float(text, source, "field 'F0'")
    else:
        f0 = _number(s, "F0", source)
    labels["f0"] = _positive(f0)
    labels["slope"] = _text(s, "slope", source)
    labels["rhyp"] = _number(s, "Rhyp", source)
    hsvr = _field(s, "HSVR", source)
    labels["hsvr"] = (tuple(float(v) for v in hsvr.real.ravel())
                      if isinstance(hsvr, np.ndarray) and hsvr.dtype.kind in "fiuc" else None)
    return labels


# ----------------------------------------------------------------------------- times

def _times(mat, s, source, filename_or_buf):
    """(event time, record start, how the start was found)."""
    decoded = _matlab_datetimes(mat)
    event = decoded.get(_object_id(s, "date"))
    start = decoded.get(_object_id(s, "recordtime"))
    name_time = _filename_time(_source_name(filename_or_buf))
    if event is None:
        event = name_time
    if start is not None:
        return event, start, "recordtime"
    if name_time is None:
        raise ValueError(f"{source}: no start time: field 'recordtime' cannot be decoded and the "
                         f"file name does not start with YYYYMMDDhhmmss_<station>")
    warnings.warn(f"{source}: field 'recordtime' cannot be decoded; using the time in the file "
                  f"name, which is the event time (the record may start a few seconds earlier)",
                  UserWarning, stacklevel=3)
    return event, name_time, "file name (event time)"


def _filename_time(name):
    m = _FILENAME_RE.match(os.path.basename(name))
    if not m:
        return None
    try:
        return UTCDateTime(*(int(g) for g in m.groups()[:6]))
    except (ValueError, TypeError):
        return None


def _object_id(s, name):
    """MCOS object id of a MATLAB object field (an opaque array), or None."""
    try:
        value = s.get(name)
        if not (isinstance(value, dict) and value.get("type_system") == "MCOS"):
            return None
        arr = np.asarray(value["arr"]).ravel().astype(np.int64)
        # [0xDD000000, ndims, dims..., object ids..., class id]; only scalars are used here
        ndims = int(arr[1])
        if arr[0] != 0xDD000000 or np.prod(arr[2:2 + ndims]) != 1:
            return None
        return int(arr[2 + ndims])
    except Exception:  # noqa: BLE001 -- anything unexpected: no decodable time
        return None


def _matlab_datetimes(mat) -> dict:
    """Decode the values of MATLAB ``datetime`` objects: {object id: UTCDateTime}.

    Object property values live in the MCOS subsystem, stored as a nameless variable (a uint8
    array) that is itself a small MAT stream: an 8-byte header, then a struct whose field
    ``MCOS`` is an opaque ``FileWrapper__`` holding a cell array. Cell 0 is metadata that maps
    each object to the cell holding its ``data`` property (milliseconds since 1970). Returns
    ``{}`` whenever anything is not as expected.
    """
    try:
        ws = mat.get("__function_workspace__")
        if not (isinstance(ws, np.ndarray) and ws.dtype == np.uint8 and ws.size > 8):
            return {}
        blob = ws.tobytes(order="F")
        reader = _Mat5(blob, _endian(blob[2:4]))
        _, sub, _ = reader.matrix(8, len(blob))
        wrapper = sub[0]["MCOS"]
        if not (isinstance(wrapper, dict) and isinstance(wrapper["arr"], _Cell)):
            return {}
        return _mcos_datetimes(list(wrapper["arr"]))
    except Exception:  # noqa: BLE001 -- undecodable: the caller falls back to the file name
        return {}


def _mcos_datetimes(cells) -> dict:
    """Parse the MCOS metadata (cell 0) and return {object id: UTCDateTime} for datetimes."""
    meta = np.asarray(cells[0]).ravel().astype(np.uint8).tobytes()
    u32 = np.frombuffer(meta[: len(meta) // 4 * 4], "<u4")
    version, nstrings = int(u32[0]), int(u32[1])
    noff = {2: 6, 3: 8, 4: 8}.get(version)
    if noff is None:
        return {}
    off = [int(v) for v in u32[2:2 + noff]]
    strings = meta[8 + 4 * noff:off[0]].split(b"\x00")[:nstrings]
    names = [""] + [b.decode("latin-1") for b in strings]  # indices are 1-based

    def table(start, end, width):
        return np.frombuffer(meta[start:end], "<u4").reshape(-1, width)

    classes = table(off[0], off[1], 4)            # (package, name, 0, 0) per class
    objects = table(off[2], off[3], 6)            # (class, 0, 0, type1, type2, dep) per object

    def props(start, end):
        """Sequential entries: nprops, then (name, flag, value) * nprops, 8-byte aligned."""
        out, pos = [], start
        while pos + 4 <= end:
            n = int(np.frombuffer(meta[pos:pos + 4], "<u4")[0])
            vals = np.frombuffer(meta[pos + 4:pos + 4 + 12 * n], "<u4").reshape(-1, 3)
            out.append(vals)
            pos += 4 + 12 * n
            pos += (-pos) % 8
        return out

    type1, type2 = props(off[1], off[2]), props(off[3], off[4])
    result = {}
    for obj_id in range(1, len(objects)):
        class_idx, _, _, t1, t2, _ = (int(v) for v in objects[obj_id])
        if names[int(classes[class_idx][1])] != "datetime":
            continue
        entries = type1[t1] if t1 else type2[t2]
        for name_idx, flag, value in entries:
            if names[int(name_idx)] != "data" or flag != 1:
                continue
            ms = np.asarray(cells[int(value) + 2]).ravel()
            if ms.size != 1:
                continue
            ms = complex(ms[0])
            total = ms.real + ms.imag  # MATLAB keeps sub-millisecond parts in the imaginary part
            if np.isfinite(total) and -2.2e12 < total < 7.3e12:  # 1900 .. 2200
                result[obj_id] = UTCDateTime(total / 1000.0)
    return result


# ----------------------------------------------------------------------------- examples

def _write_example_mat(path, npts: int = 5):
    """Write a small AFAD-style ``.mat`` (no datetime objects) for examples and tests.

    Labels are those of the real record 20120114055233_2404.mat; the data are made up. The
    start time then comes from the file name (a warning says so).

    Examples
    --------
    >>> import tempfile, os, scipy.io
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = _write_example_mat(os.path.join(d, "20120114055233_2404.mat"))
    ...     scipy.io.whosmat(p)
    [('EQ', (1, 1), 'struct')]
    """
    import scipy.io

    t = np.arange(npts, dtype=np.float64)
    rec = {
        "place": "ERZINCAN REFAHIYE MESLEK YUKSEK OKULU",
        "epicenter": np.array([[40.0612, 38.3478]]),
        "depth": np.array([[17000]], dtype=np.uint16),
        "magnitudeval": np.array([[4.4]]), "magnitudetype": " ML",
        "statID": np.array([[2404]], dtype=np.uint16),
        "statco": np.array([[39.90631, 38.77056]]), "alt": np.array([[1579]], dtype=np.uint16),
        "recordtype": "Guralp cmg5td", "recordno": np.zeros((0, 0), dtype=np.uint8),
        "numofData": np.array([[npts]], dtype=np.uint16),
        "Accel": np.column_stack([0.01 * t, -0.02 * t, 0.005 * t]),
        "sampling": np.array([[0.01]]),
        "pga": np.array([[0.01, 0.02, 0.005]]) * (npts - 1),
        "Rhyp": np.array([[43.393793280812744]]), "slope": "S0", "F0": "4,6",
        "Vs30": np.array([[567]], dtype=np.uint16),
        "Ptime": np.array([[0.02]]), "Stime": np.array([[0.03]]),
    }
    scipy.io.savemat(path, {"EQ": {"anEQ": rec}})
    return path
