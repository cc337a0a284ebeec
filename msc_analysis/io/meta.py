"""Read a cut's ``cut.yaml`` safely and strictly.

``cut.yaml`` comes with the data, so it is treated as hostile: it is read with a safe YAML
loader that refuses aliases (a few hundred bytes of nested aliases expand to gigabytes),
duplicate keys and values of the wrong type, and only up to :data:`MAX_META_BYTES`. The
names it gives (``cut_id``, ``study_id``) become folder names of the report, so they must
match :data:`NAME_PATTERN` before anything uses them.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import stat
from pathlib import Path

import yaml

from .problems import Problem

__all__ = ["META_FILE", "MAX_META_BYTES", "NAME_PATTERN", "NAME_RULE", "META_KEYS", "check_name",
           "read_meta", "read_meta_file"]

META_FILE = "cut.yaml"

#: A cut.yaml holds a handful of keys; anything larger is not one.
MAX_META_BYTES = 64 * 1024

#: ``cut_id`` and ``study_id``: letters, digits, '.', '-', '_'; a letter or digit first; at
#: most 64 characters (so never '.', '..', a path, a glob or a hidden file name).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = ("letters, digits, '.', '-' or '_', starting with a letter or digit, "
             "at most 64 characters (for example cut-2020-10-30)")

#: Keys of cut.yaml: name -> (required, expected type, what a valid value looks like).
META_KEYS = {
    "cut_id": (True, str, NAME_RULE),
    "study_id": (True, str, NAME_RULE),
    "cutoff_date": (True, str, "a real date written YYYY-MM-DD, e.g. 2020-10-30"),
    "description": (False, str, "text (quote it if it holds a colon)"),
    "synthetic": (False, bool, "true for invented data, false for real patients' data"),
}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_name(value: object) -> bool:
    """True if ``value`` may be used as a cut or study name (see :data:`NAME_PATTERN`).

    Examples
    --------
    >>> [check_name(v) for v in ("cut-2020-10-30", "..", "../x", "a*", "x" * 65, True)]
    [True, False, False, False, False, False]
    """
    return isinstance(value, str) and NAME_PATTERN.fullmatch(value) is not None


class _Refused(yaml.YAMLError):
    def __init__(self, line: int | None, key: str | None, what: str):
        super().__init__(what)
        self.line, self.key, self.what = line, key, what


class _StrictLoader(yaml.SafeLoader):
    """Safe loader: no aliases, no duplicate keys, dates left as text (reported, not raised)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise _Refused(mark.line + 1, None, "YAML aliases (*name) are not allowed in cut.yaml; "
                           "write each value out in full")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                raise _Refused(key_node.start_mark.line + 1, key,
                               "this key appears more than once; keep exactly one")
            seen.add(key if isinstance(key, str) else repr(key))
        return super().construct_mapping(node, deep=deep)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_meta(data: bytes, problems: list[Problem]) -> dict:
    """Parse the bytes of a ``cut.yaml``; append every problem to ``problems``.

    Returns
    -------
    dict
        ``cut_id``, ``study_id`` (str), ``cutoff_date`` (:class:`datetime.date`),
        ``description`` (str, may be empty) and ``synthetic`` (bool, false when absent) when
        the file is valid; whatever could be read otherwise.

    Examples
    --------
    >>> problems = []
    >>> meta = read_meta(b"cut_id: c1\\nstudy_id: S\\ncutoff_date: 2020-10-30\\nsynthetic: true\\n", problems)
    >>> meta["cutoff_date"], meta["synthetic"], problems
    (datetime.date(2020, 10, 30), True, [])
    >>> "study_id" in read_meta(b"cut_id: c1\\nstudy_id: yes\\ncutoff_date: 2020-10-30\\n", problems)
    False
    >>> print(problems[0])
    cut.yaml, column 'study_id': value 'True': expected letters, digits, '.', '-' or '_', starting with a letter or digit, at most 64 characters (for example cut-2020-10-30); put the value in quotes: YAML reads yes/no/on/off as true/false and digits as a number
    """
    def refuse(key, value, what, line=None):
        problems.append(Problem(META_FILE, line, key, None if value is None else str(value), what))

    if len(data) > MAX_META_BYTES:
        refuse(None, None, f"the file is {len(data):,} bytes; a cut.yaml holds a few keys and must be "
               f"under {MAX_META_BYTES // 1024} KiB")
        return {}
    try:
        text = data.decode("utf-8-sig")
        meta = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a safe loader, aliases refused)
    except UnicodeDecodeError:
        refuse(None, None, "not UTF-8 text; save it as UTF-8")
        return {}
    except _Refused as exc:
        refuse(exc.key, None, exc.what, exc.line)
        return {}
    except RecursionError:
        refuse(None, None, "nested too deeply to be a cut.yaml; expected lines 'key: value'")
        return {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or "not valid YAML"
        refuse(None, None, f"not readable as YAML ({reason}); expected lines of the form 'key: value'",
               mark.line + 1 if mark is not None else None)
        return {}
    if not isinstance(meta, dict):
        refuse(None, None, "expected lines 'key: value' with the keys " + ", ".join(META_KEYS))
        return {}
    for key in sorted((k for k in meta if k not in META_KEYS), key=str):
        refuse(str(key), None, "not a known key (expected " + ", ".join(META_KEYS) + ")")
    out = {k: v for k, v in meta.items() if k in META_KEYS}
    for key, (required, kind, rule) in META_KEYS.items():
        value = meta.get(key)
        if value is None or value == "":
            if required:
                refuse(key, None, f"this key is required: {rule}")
            out.pop(key, None)
            continue
        if not isinstance(value, kind) or (kind is str and key in ("cut_id", "study_id")
                                           and not check_name(value)):
            hint = ("" if isinstance(value, kind) else
                    " (write true or false, without quotes)" if kind is bool else
                    "; put the value in quotes: YAML reads yes/no/on/off as true/false and digits as a number")
            refuse(key, value, f"expected {rule}{hint}")
            out.pop(key, None)
    if "cutoff_date" in out:
        try:
            if not _ISO_DATE.fullmatch(out["cutoff_date"]):
                raise ValueError
            out["cutoff_date"] = dt.date.fromisoformat(out["cutoff_date"])
        except ValueError:
            refuse("cutoff_date", out.pop("cutoff_date"), "expected " + META_KEYS["cutoff_date"][2])
    out["description"] = out.get("description", "")
    out["synthetic"] = out.get("synthetic", False)
    return out


def read_meta_file(path: str | Path) -> tuple[dict, list[Problem]]:
    """Read ``path`` (a cut.yaml) without following a symbolic link; return (meta, problems).

    Used to look at a folder's cut.yaml before the whole cut is loaded (which cut is the
    newest, which is the previous one). The file is read only up to :data:`MAX_META_BYTES`.
    """
    problems: list[Problem] = []
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        what = ("is a link; a cut folder must hold its own files" if os.path.islink(path)
                else f"cannot be read ({exc.strerror})")
        return {}, [Problem(META_FILE, None, None, None, f"the file {what}")]
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, a pipe or a device named cut.yaml
        os.close(fd)
        return {}, [Problem(META_FILE, None, None, None, "not a regular file")]
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(MAX_META_BYTES + 1)
    return read_meta(data, problems), problems
