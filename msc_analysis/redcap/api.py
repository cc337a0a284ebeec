"""Pull a REDCap project's data dictionary and records through the REDCap API (with PyCap).

Only exports are made: the data dictionary (``content=metadata``, CSV) and the records
(``content=record``, raw flat CSV with unique event names, checkboxes as ``field___code``).
Nothing is written to disk here: the bytes go straight to the import.

The API token is a password to the project. It is read only from the environment variable
``REDCAP_API_TOKEN`` or from a file that only its owner can read (never from the command line
or a notebook parameter, which end up in shell histories and executed notebooks), it travels
only over https (or plain http to this machine's loopback address, for tests and local
installs), and it appears in no message or traceback: errors from the server or from
``requests`` are reworded into plain sentences.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import redcap
import requests

__all__ = ["RedcapApiError", "TOKEN_VARIABLE", "read_token", "export_project"]

#: The environment variable that may hold the API token.
TOKEN_VARIABLE = "REDCAP_API_TOKEN"
#: A REDCap project API token: 32 hexadecimal characters.
_TOKEN = re.compile(r"[0-9A-Fa-f]{32}")
#: Hosts to which plain http is allowed: the token never leaves this machine.
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
#: Proxies switched off for the loopback address, so the token never goes to a proxy in clear.
_NO_PROXY = {"http": None, "https": None, "all": None}
#: A token file is a few bytes; anything longer is not a token file.
_MAX_TOKEN_FILE_BYTES = 4096
#: What each API call exports, in words.
_WHAT = {"metadata": "the data dictionary export", "record": "the records export"}
_HOW_TO_GIVE = (f"set the environment variable {TOKEN_VARIABLE}, or put the token in a file "
                "that only you can read (chmod 600 FILE) and give that file")


class RedcapApiError(Exception):
    """The REDCap API pull failed; the message says why in plain words and never holds the token."""


def read_token(token_file: str | os.PathLike | None = None,
               environ: dict | None = None) -> str:
    """The REDCap API token, from ``token_file`` if given, else from ``REDCAP_API_TOKEN``.

    Parameters
    ----------
    token_file : path, optional
        A regular file (not a link) owned by the current user that neither the group nor other
        users can read or write (``chmod 600 FILE``), holding the token; surrounding blanks and
        the final newline are ignored.
    environ : mapping, optional
        The environment to read ``REDCAP_API_TOKEN`` from (default :data:`os.environ`); used
        only when ``token_file`` is not given.

    Returns
    -------
    str
        The token: 32 hexadecimal characters.

    Raises
    ------
    RedcapApiError
        No token, an unsafe or unreadable token file, or text that is not a REDCap token; the
        message says how to fix it and never repeats the file's content.

    Examples
    --------
    >>> read_token(environ={"REDCAP_API_TOKEN": "0123456789ABCDEF0123456789ABCDEF"})
    '0123456789ABCDEF0123456789ABCDEF'
    """
    if token_file is not None:
        return _token_from_file(Path(token_file))
    environ = os.environ if environ is None else environ
    text = environ.get(TOKEN_VARIABLE)
    if text is None:
        raise RedcapApiError(f"No REDCap API token was given: {_HOW_TO_GIVE}. "
                             "The token is never accepted on the command line.")
    return _checked(text, f"The value of the environment variable {TOKEN_VARIABLE}")


def _token_from_file(path: Path) -> str:
    where = f"The token file {path}"
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise RedcapApiError(f"{where} does not exist.") from None
    except OSError as err:
        raise RedcapApiError(f"{where} cannot be read ({err.strerror}).") from None
    if stat.S_ISLNK(info.st_mode):
        raise RedcapApiError(f"{where} is a symbolic link; give the file itself "
                             "(a link can be redirected to a file others can read).")
    if not stat.S_ISREG(info.st_mode):
        raise RedcapApiError(f"{where} is not a regular file.")
    problems, fix = [], ""
    if os.name == "posix":
        if info.st_mode & 0o077:
            problems.append(f"other users can read or change it (its permissions are "
                            f"{stat.filemode(info.st_mode)})")
            fix = f"\nTo fix it, run: chmod 600 {shlex.quote(str(path))}"
        if info.st_uid != os.geteuid():
            problems.append("it belongs to another user (it must be your own file)")
    if problems:
        raise RedcapApiError(f"{where} is refused: " + "; and ".join(problems) + "." + fix)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(_MAX_TOKEN_FILE_BYTES + 1)
    except OSError as err:
        raise RedcapApiError(f"{where} cannot be read ({err.strerror}).") from None
    if len(data) > _MAX_TOKEN_FILE_BYTES:
        raise RedcapApiError(f"{where} is not a REDCap API token file: it is far too long.")
    return _checked(data.decode("ascii", errors="replace"), f"The text of the token file {path}")


def _checked(text: str, where: str) -> str:
    token = text.strip()
    if not token:
        raise RedcapApiError(f"{where} is empty: it must be the project's API token "
                             "(shown on the project's API page in REDCap).")
    if not _TOKEN.fullmatch(token):
        wrong = (f"{len(token)} characters" if len(token) != 32
                 else "characters other than 0-9 and A-F")
        raise RedcapApiError(
            f"{where} is not a REDCap API token: a token is 32 characters, digits 0-9 and "
            f"letters A-F, and this one has {wrong}. Copy the token again from the project's "
            "API page in REDCap.")
    return token


def _check_url(api_url: str, token: str) -> bool:
    """Refuse an address the token must not be sent to; True when it is the loopback address."""
    try:
        parts = urlsplit(api_url)
        host = parts.hostname or ""
    except ValueError:
        raise RedcapApiError(f"The REDCap API address {_scrub(api_url, token)!r} is not a web "
                             "address.") from None
    problems = []
    loopback = host in _LOOPBACK
    if parts.scheme == "http" and not loopback:
        problems.append("it starts with http://, so the API token would travel in clear text; "
                        "use the https:// address (plain http is accepted only for this "
                        "machine's loopback address 127.0.0.1, ::1 or localhost)")
    elif parts.scheme not in ("http", "https") or not host:
        problems.append("it must start with https:// followed by the server's name")
    if not parts.path.endswith("/api/"):
        problems.append("it must end with /api/ (REDCap's API address, as shown on the "
                        "project's API page, e.g. https://redcap.example.org/api/)")
    if problems:
        raise RedcapApiError(f"The REDCap API address {_scrub(api_url, token)!r} is refused: "
                             + "; and ".join(problems) + ".")
    return loopback


def export_project(api_url: str, token: str, *, timeout_s: float = 60) -> tuple[bytes, bytes]:
    """Export a REDCap project's data dictionary and records through its API.

    Three requests are made (all exports, nothing is changed in REDCap): the data dictionary as
    CSV, the data dictionary as JSON (PyCap reads the field names from it to ask for every
    field), and the records as raw flat CSV.

    Parameters
    ----------
    api_url : str
        The project's API address, ending in ``/api/``: https, or http only to the loopback
        address (127.0.0.1, ::1, localhost).
    token : str
        The project's API token (32 hexadecimal characters), from :func:`read_token`.
    timeout_s : float, default 60
        Seconds to wait for the server to answer each request.

    Returns
    -------
    tuple of bytes
        ``(dictionary, records)``: the bytes REDCap sent. ``dictionary`` is the data dictionary
        CSV with the API's column names (``field_name``, ``form_name``, ``field_type``,
        ``select_choices_or_calculations``, ``text_validation_type_or_show_slider_number``,
        ``identifier``, ...); ``records`` is the raw flat records CSV: one row per record,
        event, repeating instrument and instance (``redcap_event_name`` holds unique event
        names), checkbox fields as ``field___code``, and the ``<form>_complete`` columns.

    Raises
    ------
    RedcapApiError
        An address the token must not be sent to, a malformed token, a server that cannot be
        reached or does not answer in time, a refusal (wrong token, no export rights) or any
        other HTTP error, with REDCap's own error text; never with the token.
    """
    token = _checked(token, "The API token given")
    loopback = _check_url(api_url, token)
    if not timeout_s > 0:
        raise RedcapApiError(f"The time limit must be a positive number of seconds, "
                             f"not {timeout_s!r}.")
    answers: dict[tuple[str, str], bytes] = {}
    shown = _scrub(api_url, token)  # the address in messages

    def keep(response: requests.Response, **_) -> requests.Response:
        form = parse_qs(_text(response.request.body))
        content = form.get("content", ["?"])[0]
        if response.status_code != 200:
            raise RedcapApiError(_refusal(response, content, shown, token))
        answers[content, form.get("format", ["?"])[0]] = response.content
        return response

    options = {"hooks": {"response": [keep]}, "timeout": timeout_s, "allow_redirects": False}
    if loopback:
        options["proxies"] = dict(_NO_PROXY)
    what = _WHAT["metadata"]
    try:
        project = redcap.Project(api_url, token, **options)
        project.export_metadata(format_type="csv")
        what = _WHAT["record"]
        project.export_records(format_type="csv", raw_or_label="raw", raw_or_label_headers="raw",
                               event_name="unique", record_type="flat",
                               export_checkbox_labels=False)
    except RedcapApiError:
        raise
    except requests.exceptions.SSLError:
        message = (f"The secure (https) connection to {shown} failed during {what}: the "
                   "server's certificate could not be verified, or no encryption was agreed.")
    except requests.exceptions.Timeout:
        message = (f"The REDCap server at {shown} did not answer {what} within "
                   f"{timeout_s:g} seconds.")
    except requests.exceptions.ConnectionError:
        message = (f"The REDCap server at {shown} could not be reached during {what}: check "
                   "the address and your network connection.")
    except (requests.exceptions.InvalidJSONError, ValueError, KeyError, TypeError, IndexError):
        message = f"The answer of {shown} to {what} is not a REDCap API answer."
    except requests.RequestException as err:  # PyCap's RedcapError: REDCap's error text
        said = err.args[0] if err.args else ""
        said = said.get("error", said) if isinstance(said, dict) else said
        message = f"REDCap refused {what} at {shown}: {_scrub(_error_text(str(said)), token)}"
    else:
        return answers["metadata", "csv"], answers["record", "csv"]
    raise RedcapApiError(message)


def _text(body: bytes | str | None) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return body or ""


def _refusal(response: requests.Response, content: str, api_url: str, token: str) -> str:
    """A plain sentence for a non-200 answer, with REDCap's own error text, without the token."""
    what = _WHAT.get(content, "a request")
    status = f"HTTP {response.status_code} {response.reason or ''}".strip()
    if response.is_redirect:
        where = _scrub(response.headers.get("Location", "?"), token)
        return (f"The REDCap server at {api_url} answered {what} with a redirect ({status}) to "
                f"{where!r}; give the project's API address exactly as REDCap's API page shows it.")
    said = _scrub(_error_text(_text(response.content)), token)
    said = f': "{said}"' if said else ""
    if response.status_code in (401, 403):
        return (f"The REDCap server at {api_url} refused the API token ({status}){said}. Check "
                "that the token is this project's and that your REDCap account has API export "
                "rights in the project.")
    return f"The REDCap server at {api_url} answered {what} with {status}{said}."


def _error_text(text: str) -> str:
    """REDCap's error message from an answer in JSON, XML or plain text, short and printable."""
    try:
        said = json.loads(text).get("error", text)
    except (ValueError, AttributeError):
        found = re.search(r"<error>(.*?)</error>", text, re.S | re.I)
        said = found.group(1) if found else text
    said = "".join(ch if ch.isprintable() else " " for ch in str(said))
    said = " ".join(said.split())
    return said if len(said) <= 300 else said[:300] + "..."


def _scrub(text: str, token: str) -> str:
    return re.sub(re.escape(token), "[token]", text, flags=re.I)
