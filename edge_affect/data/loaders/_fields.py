"""Field parsing shared by the loaders: every failure becomes a DatasetError
naming file, line, field, what was expected and what was found."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edge_affect.data.records import dataset_error

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".webp")


def parse_int(text: str, path: Path, line: int | None, name: str,
              lo: int | None = None, hi: int | None = None) -> int:
    expected = _range_text("an integer", lo, hi)
    try:
        value = int(text.strip())
    except (ValueError, AttributeError):
        raise dataset_error(path, line, name, expected, text) from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise dataset_error(path, line, name, expected, text)
    return value


def parse_float(text: str, path: Path, line: int | None, name: str) -> float:
    try:
        value = float(text.strip())
    except (ValueError, AttributeError):
        raise dataset_error(path, line, name, "a number", text) from None
    if not math.isfinite(value):
        raise dataset_error(path, line, name, "a finite number", text)
    return value


def parse_landmarks(values: list[str], path: Path, line: int | None, name: str) -> np.ndarray:
    """136 numbers x1, y1, x2, y2, ... -> float32 (68, 2)."""
    if len(values) != 136:
        raise dataset_error(path, line, name, "136 numbers (68 x, y pairs)", f"{len(values)} values")
    try:
        pts = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        bad = next(v for v in values if not _is_number(v))
        raise dataset_error(path, line, name, "numbers", bad) from None
    with np.errstate(over="ignore"):  # e.g. 1e300: finite as a float64, inf as the float32 we keep
        pts = pts.astype(np.float32)
    if not np.all(np.isfinite(pts)):
        raise dataset_error(path, line, name, "finite numbers (float32)", "a non-finite value")
    return pts.reshape(68, 2)


def read_csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row by column name) of a headed CSV file.

    Header names are compared without surrounding spaces (one public copy of
    FER-2013 writes `` pixels``); a missing column or a row with the wrong
    number of cells is a DatasetError."""
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise dataset_error(path, None, "file", "a readable CSV file", exc.strerror or str(exc)) from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise dataset_error(path, 1, "header", f"columns {list(required)}", "an empty file") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(path, reader.line_num, exc) from None
        missing = [c for c in required if c not in header]
        if missing:
            raise dataset_error(path, 1, "header", f"columns {list(required)}", f"{header} (missing {missing})")
        rows = iter(reader)
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as exc:  # not UTF-8, a cell over csv's size limit
                raise _unreadable(path, reader.line_num, exc) from None
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank line, e.g. at the end of the file
            if len(cells) != len(header):
                raise dataset_error(path, reader.line_num, "row", f"{len(header)} cells", f"{len(cells)} cells")
            yield reader.line_num, dict(zip(header, cells))


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file, or a DatasetError naming it (unreadable, not UTF-8)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise dataset_error(path, None, what, "a readable text file", exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise _unreadable(path, None, exc) from None


def _unreadable(path: Path, line: int | None, exc: Exception) -> Exception:
    """A DatasetError for text that cannot be read: where the bytes are not
    UTF-8 (found again in the raw file: the decoder works in blocks, so its
    own position is not a line), or what the csv module refused."""
    if isinstance(exc, UnicodeDecodeError):
        data = Path(path).read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exact:
            line = data.count(b"\n", 0, exact.start) + 1
            column = exact.start - (data.rfind(b"\n", 0, exact.start) + 1) + 1
            return dataset_error(path, line, "text", "UTF-8 text", f"byte {data[exact.start]:#04x} at column {column}")
    return dataset_error(path, line or None, "text", "CSV text", str(exc))


def find_first(candidates: list[Path], what: str, root: Path, is_dir: bool) -> Path:
    """The first existing candidate, or a DatasetError listing where we looked."""
    for candidate in candidates:
        if (candidate.is_dir() if is_dir else candidate.is_file()):
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise dataset_error(root, None, what, f"one of {looked}", "none of them exists")


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _range_text(kind: str, lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"{kind} in [{lo}, {hi}]"
    if lo is not None:
        return f"{kind} >= {lo}"
    if hi is not None:
        return f"{kind} <= {hi}"
    return kind
