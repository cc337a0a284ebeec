"""A stand-in REDCap API server on the loopback address, for the API pull's tests.

It answers the export calls the kit makes (POST form fields ``token``, ``content``, ``format``,
``type``, ``rawOrLabel``, ...) from a data dictionary and a records export given as bytes, the
way REDCap does: the data dictionary with the API's column names (``field_name``, ...) as CSV
or JSON, the records as they are; a wrong token gets HTTP 403 with REDCap's JSON error.
Every request's form (without the token) is kept in :attr:`RedcapServer.requests`.
"""
from __future__ import annotations

import csv
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

#: The data dictionary's column names in REDCap's download (UI) -> in the API's answer.
API_COLUMNS = {
    "Variable / Field Name": "field_name", "Form Name": "form_name",
    "Section Header": "section_header", "Field Type": "field_type", "Field Label": "field_label",
    "Choices, Calculations, OR Slider Labels": "select_choices_or_calculations",
    "Field Note": "field_note",
    "Text Validation Type OR Show Slider Number": "text_validation_type_or_show_slider_number",
    "Text Validation Min": "text_validation_min", "Text Validation Max": "text_validation_max",
    "Identifier?": "identifier", "Branching Logic (Show field only if...)": "branching_logic",
    "Required Field?": "required_field", "Custom Alignment": "custom_alignment",
    "Question Number (surveys only)": "question_number", "Matrix Group Name": "matrix_group_name",
    "Matrix Ranking?": "matrix_ranking", "Field Annotation": "field_annotation",
}
NO_RIGHTS = {"error": "You do not have permissions to use the API"}


def api_dictionary(dictionary: bytes) -> bytes:
    """The data dictionary as REDCap's API sends it: the download's column names renamed."""
    rows = list(csv.reader(io.StringIO(dictionary.decode("utf-8-sig"), newline="")))
    rows[0] = [API_COLUMNS.get(name, name) for name in rows[0]]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


class RedcapServer:
    """``with RedcapServer(token, dictionary, records) as server:`` serves at ``server.url``.

    ``fail_with`` = ``(status, headers, body bytes)`` answers every request with that instead
    (e.g. a server error page, or a redirect).
    """

    def __init__(self, token: str, dictionary: bytes, records: bytes, fail_with=None):
        self.token = token
        self.dictionary = api_dictionary(dictionary)
        self.records = records
        self.fail_with = fail_with
        self.requests: list[dict[str, str]] = []
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/api/"

    def __enter__(self) -> "RedcapServer":
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict | str, bytes]:
        """``(status, content type or headers, body)`` for one POST."""
        if self.fail_with is not None:
            return self.fail_with
        if path != "/api/":
            return 404, "text/html", b"Not Found"
        if form.get("token") != self.token:
            return 403, "application/json", json.dumps(NO_RIGHTS).encode()
        content, fmt = form.get("content"), form.get("format", "xml")
        if content == "metadata" and fmt == "csv":
            return 200, "text/csv; charset=utf-8", self.dictionary
        if content == "metadata" and fmt == "json":
            rows = list(csv.DictReader(io.StringIO(self.dictionary.decode("utf-8"), newline="")))
            return 200, "application/json", json.dumps(rows).encode()
        if content == "record" and fmt == "csv" and form.get("type") == "flat":
            return 200, "text/csv; charset=utf-8", self.records
        error = {"error": f"The value of the parameter \"content\" ({content}) is not valid"}
        return 400, "application/json", json.dumps(error).encode()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                form = {key: values[0] for key, values in
                        parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
                status, kind, answer = server.answer(self.path, form)
                server.requests.append({k: v for k, v in form.items() if k != "token"})
                self.send_response(status)
                headers = {"Content-Type": kind} if isinstance(kind, str) else kind
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):  # quiet
                pass

        return Handler
