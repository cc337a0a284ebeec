"""The optional REDCap API pull (``msc_analysis.redcap.api``), against a stand-in REDCap server on
the loopback address (``tests/redcap_server.py``): the exports arrive byte for byte, and the token
is read only from the environment or an owner-only file, is sent only over https or to the
loopback address, and shows in no message, traceback or file."""
import os
import socket
import traceback

import pytest

from msc_analysis.redcap.api import RedcapApiError, export_project, read_token

from .conftest import ROOT
from .redcap_server import RedcapServer, api_dictionary

TOKEN = "0123456789ABCDEF0123456789ABCDEF"
OTHER_TOKEN = "FEDCBA9876543210FEDCBA9876543210"

#: A small project: a data dictionary as REDCap's download writes it, and a raw records export
#: (CRLF line ends and a non-ASCII letter, so that "byte for byte" means something).
DICTIONARY = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note",'
    '"Text Validation Type OR Show Slider Number","Text Validation Min","Text Validation Max",'
    '"Identifier?","Branching Logic (Show field only if...)","Required Field?","Custom Alignment",'
    '"Question Number (surveys only)","Matrix Group Name","Matrix Ranking?","Field Annotation"\n'
    'record_id,demographics,,text,"Record ID",,,,,,,,,,,,,\n'
    'sex,demographics,,radio,"Sex","1, Female | 2, Male",,,,,,,,,,,,\n'
    'symptom,vital_signs,,checkbox,"Symptoms","1, Fever | 2, Cough",,,,,,,,,,,,\n'
).encode("utf-8")
RECORDS = ("record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,sex,"
           "demographics_complete,symptom___1,symptom___2,vital_signs_complete\r\n"
           "S01,screening_arm_1,,,1,2,,,\r\n"
           "S01,treatment_arm_1,vital_signs,1,,,1,0,2\r\n"
           "S02,screening_arm_1,,,2,2,,,\r\n").encode("utf-8") + "# Zoë\r\n".encode("utf-8")


def message_and_traceback(error: BaseException) -> str:
    return str(error) + "".join(traceback.format_exception(error))


def owner_only_file(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.fixture
def server():
    with RedcapServer(TOKEN, DICTIONARY, RECORDS) as running:
        yield running


def test_export_returns_the_servers_files(server):
    dictionary, records = export_project(server.url, TOKEN)
    assert dictionary == api_dictionary(DICTIONARY)
    assert dictionary.startswith(b"field_name,form_name,")
    assert records == RECORDS


def test_records_are_asked_raw_flat_with_unique_event_names(server):
    export_project(server.url, TOKEN)
    asked = [form for form in server.requests if form["content"] == "record"]
    assert len(asked) == 1
    assert {key: asked[0].get(key) for key in ("format", "type", "rawOrLabel", "rawOrLabelHeaders",
                                               "eventName")} == {
        "format": "csv", "type": "flat", "rawOrLabel": "raw", "rawOrLabelHeaders": "raw",
        "eventName": "unique"}
    assert "exportCheckboxLabel" not in asked[0]
    assert {form["content"] for form in server.requests} == {"metadata", "record"}


def test_token_is_read_from_the_environment():
    assert read_token(environ={"REDCAP_API_TOKEN": f" {TOKEN}\n"}) == TOKEN


def test_no_token_is_a_plain_error_naming_the_variable():
    with pytest.raises(RedcapApiError, match="REDCAP_API_TOKEN.*chmod 600"):
        read_token(environ={})


def test_token_from_an_owner_only_file_is_read(tmp_path):
    path = owner_only_file(tmp_path / "token", TOKEN + "\n")
    assert read_token(path, environ={"REDCAP_API_TOKEN": OTHER_TOKEN}) == TOKEN


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
def test_token_from_a_group_readable_file_is_refused(tmp_path, mode):
    path = owner_only_file(tmp_path / "token", TOKEN, mode)
    with pytest.raises(RedcapApiError) as refused:
        read_token(path)
    assert f"chmod 600 {path}" in str(refused.value).splitlines()[-1]
    assert TOKEN not in message_and_traceback(refused.value)


def test_token_file_that_is_a_link_is_refused(tmp_path):
    target = owner_only_file(tmp_path / "token", TOKEN)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(RedcapApiError, match="symbolic link"):
        read_token(link)


@pytest.mark.parametrize("content, says", [(None, "does not exist"), ("", "is empty"),
                                           ("\n  \n", "is empty")])
def test_missing_or_empty_token_file_is_refused(tmp_path, content, says):
    path = tmp_path / "token"
    if content is not None:
        owner_only_file(path, content)
    with pytest.raises(RedcapApiError, match=says):
        read_token(path)


@pytest.mark.parametrize("text", [TOKEN[:-1], TOKEN + "0", TOKEN[:-1] + "G",
                                  f"REDCAP_API_TOKEN={TOKEN}", TOKEN[:16] + " " + TOKEN[16:]])
def test_text_that_is_not_a_token_is_refused_without_echoing_it(tmp_path, text):
    for source in ({"environ": {"REDCAP_API_TOKEN": text}},
                   {"token_file": owner_only_file(tmp_path / "token", text)}):
        with pytest.raises(RedcapApiError, match="32 characters") as refused:
            read_token(**source)
        assert text not in message_and_traceback(refused.value)
        assert TOKEN[:16] not in str(refused.value)


@pytest.mark.parametrize("url", ["http://redcap.example.org/api/", "http://10.0.0.5/api/",
                                 "http://127.0.0.1.example.org/api/",
                                 "ftp://redcap.example.org/api/", "redcap.example.org/api/"])
def test_plain_http_to_a_remote_host_is_refused(url, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a request was sent")
    monkeypatch.setattr("requests.Session.request", no_network)
    with pytest.raises(RedcapApiError, match="https://") as refused:
        export_project(url, TOKEN)
    assert TOKEN not in message_and_traceback(refused.value)


def test_an_address_not_ending_in_api_is_refused():
    with pytest.raises(RedcapApiError, match="/api/"):
        export_project("https://redcap.example.org/redcap/", TOKEN)


def test_wrong_token_is_a_plain_error_without_the_token(server):
    with pytest.raises(RedcapApiError) as refused:
        export_project(server.url, OTHER_TOKEN)
    said = message_and_traceback(refused.value)
    assert "refused the API token (HTTP 403 Forbidden)" in str(refused.value)
    assert "You do not have permissions to use the API" in str(refused.value)
    assert OTHER_TOKEN not in said and OTHER_TOKEN.lower() not in said
    assert TOKEN not in said


def test_a_server_error_that_repeats_the_token_does_not_show_it():
    page = f"<html><body>Fatal error: token={TOKEN.lower()}&content=metadata</body></html>"
    with RedcapServer(TOKEN, DICTIONARY, RECORDS,
                      fail_with=(500, "text/html", page.encode())) as failing:
        with pytest.raises(RedcapApiError, match="HTTP 500") as refused:
            export_project(failing.url, TOKEN)
    said = message_and_traceback(refused.value)
    assert "Fatal error" in said
    assert TOKEN not in said and TOKEN.lower() not in said


def test_an_answer_that_is_not_redcaps_is_a_plain_error():
    with RedcapServer(TOKEN, DICTIONARY, RECORDS,
                      fail_with=(200, "text/html", b"<html>Log in</html>")) as other:
        with pytest.raises(RedcapApiError, match="is not a REDCap API answer"):
            export_project(other.url, TOKEN)


def test_a_redirect_is_not_followed(server):
    with RedcapServer(TOKEN, DICTIONARY, RECORDS,
                      fail_with=(307, {"Location": server.url}, b"")) as redirecting:
        with pytest.raises(RedcapApiError, match="redirect"):
            export_project(redirecting.url, TOKEN)
    assert server.requests == []


def test_an_unreachable_server_is_a_plain_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RedcapApiError, match="could not be reached") as refused:
        export_project(f"http://127.0.0.1:{port}/api/", TOKEN)
    assert TOKEN not in message_and_traceback(refused.value)


def test_no_proxy_is_used_for_the_loopback_address(server, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    assert export_project(server.url, TOKEN)[1] == RECORDS


EXAMPLE = ROOT / "data" / "redcap"


def test_import_through_the_api_equals_the_import_from_files(tmp_path, monkeypatch, capsys):
    from msc_analysis.cli import main

    common = ["--mapping", str(EXAMPLE / "mapping.yaml"), "--cut-id", "cut-2020-12-30",
              "--cutoff", "2020-12-30"]
    by_files, by_api = tmp_path / "files", tmp_path / "api"
    assert main(["import-redcap", "--dictionary", str(EXAMPLE / "data_dictionary.csv"),
                 "--records", str(EXAMPLE / "records.csv"), *common, "--out", str(by_files)]) == 0
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    with RedcapServer(TOKEN, (EXAMPLE / "data_dictionary.csv").read_bytes(),
                      (EXAMPLE / "records.csv").read_bytes()) as server:
        assert main(["import-redcap", "--api-url", server.url, *common, "--out", str(by_api)]) == 0
    shown = capsys.readouterr()

    def files(root):
        return {path.relative_to(root): path.read_bytes()
                for path in sorted(root.rglob("*")) if path.is_file()}

    from_files, from_api = files(by_files), files(by_api)
    assert from_api.keys() == from_files.keys() and from_api
    tables = [name for name in from_api if name.suffix == ".csv"]
    # every file but the two that say where the export came from
    assert {name.name for name in from_api} - {name.name for name in tables} == {"cut.yaml",
                                                                                "README.md"}
    for name in tables:
        assert from_api[name] == from_files[name], name
    written = b"".join(files(tmp_path).values())
    for form in (TOKEN, TOKEN.lower()):
        assert form.encode() not in written
        assert form not in shown.out + shown.err


def test_a_refused_pull_exits_2_naming_the_problem_without_the_token(server, tmp_path,
                                                                     monkeypatch, capsys):
    from msc_analysis.cli import main

    monkeypatch.setenv("REDCAP_API_TOKEN", OTHER_TOKEN)
    common = ["import-redcap", "--api-url", server.url, "--mapping", str(EXAMPLE / "mapping.yaml"),
              "--cut-id", "cut-2020-12-30", "--cutoff", "2020-12-30", "--out", str(tmp_path / "out")]
    assert main(common) == 2
    loose = owner_only_file(tmp_path / "token", TOKEN, 0o644)
    assert main([*common, "--token-file", str(loose)]) == 2
    shown = capsys.readouterr()
    assert "HTTP 403" in shown.err and f"chmod 600 {loose}" in shown.err
    assert not (tmp_path / "out").exists()
    for token in (TOKEN, OTHER_TOKEN):
        assert token not in shown.out + shown.err
