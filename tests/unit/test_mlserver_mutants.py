"""The MLServer model server, as mutation testing showed it needs pinning down: deploys of one model
take turns and give up in one line when another never finishes, while other models' deploys go
on; a model that fails to load is rolled back to the version served before (loaded again); an
unreachable server or a refusal is one line; what the requests carry (JSON bodies) and how the
answers are read (empty, JSON or not).

The server is a fake speaking MLServer's v2 REST API on 127.0.0.1, answering as told.

Mutants left alive are equivalent:
- the ``Content-Type`` header's name in another case (HTTP header names are case-insensitive);
- ``errors="replace"`` spelled otherwise when decoding an error body: any unknown handler name
  is only looked up on an undecodable byte, and MLServer answers UTF-8 JSON;
- the timeouts of single calls (``timeout=5`` or ``6``, ``None``) and the 0.1 s pause between
  readiness polls: a server that answers, answers before any of them matter;
- ``_call(None, ...)``: urllib sends a request with a body as a POST anyway;
- ``ignore_errors`` in the roll-back's ``rmtree``: the folder it removes was swapped in just before;
- hint texts in capitals or wrapped in ``XX`` (present, not worded, in what is asserted);
- ``_is_sklearn`` returning True when scikit-learn is missing: it is installed wherever this runs.

Left alive, not equivalent: ``_tidy``'s reading of a stale folder's name (``index`` for ``rindex``,
``or`` for ``and``), which only a deploy killed mid-swap leaves (tests/reliability/test_stale_temps.py
covers the common case), and ``ignore_errors`` of the clean-ups after a failed write.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from zenprovision.errors import InputError, ModelServerError
from zenprovision.runtime.model_servers import for_stack, mlserver
from zenprovision.runtime.model_servers.mlserver import MLServerModelServer, _model_lock


class Fake:
    """Answers ``answers[(method, path)]`` (a list: one answer per call, the last repeated), 200 {} else."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[tuple[int, bytes]]] = {}
        self.calls: list[tuple[str, str, str | None, bytes]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.calls.append((self.command, self.path, self.headers.get("Content-Type"), body))
                queue = fake.answers.get((self.command, self.path), [(200, b"{}")])
                code, data = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = answer

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _, _ in self.calls]


@pytest.fixture
def fake() -> Iterator[Fake]:
    server = Fake()
    yield server
    server.http.shutdown()
    server.http.server_close()


@pytest.fixture
def repository(tmp_path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


def server(fake: Fake, repository: Path) -> MLServerModelServer:
    return MLServerModelServer({"endpoint": fake.endpoint + "/", "model_repository": str(repository)})


def model(constant: int = 1):
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="constant", constant=constant).fit([[0.0], [1.0]], [0, 1])


def served(repository: Path, name: str = "iris") -> int:
    import joblib

    return joblib.load(repository / name / "model.joblib").constant


def left(repository: Path) -> list[str]:
    return sorted(p.name for p in repository.iterdir())


# --- the lock --------------------------------------------------------------------------------

def hold(repository: Path, name: str, seconds: float) -> threading.Thread:
    """Another deploy of ``name`` holding the lock for ``seconds``; returns once it holds it."""
    holding = threading.Event()

    def run() -> None:
        with _model_lock(repository, name):
            holding.set()
            time.sleep(seconds)

    thread = threading.Thread(target=run)
    thread.start()
    assert holding.wait(30)
    return thread


def test_a_deploy_waits_for_the_one_in_the_way_then_goes_on(fake, repository):
    holder = hold(repository, "iris", 1.0)
    started = time.monotonic()
    result = server(fake, repository).deploy(model(), "iris")
    assert time.monotonic() - started >= 0.5  # it waited for the holder
    holder.join()
    assert result == {"name": "iris", "infer_url": f"{fake.endpoint}/v2/models/iris/infer", "server": fake.endpoint}
    assert served(repository) == 1


def test_a_deploy_of_another_model_does_not_wait(fake, repository):
    holder = hold(repository, "iris", 2.0)
    try:
        started = time.monotonic()
        server(fake, repository).deploy(model(), "wine")
        assert time.monotonic() - started < 1.5
    finally:
        holder.join()


def test_a_deploy_gives_up_in_one_line_when_the_one_in_the_way_never_finishes(fake, repository, monkeypatch):
    monkeypatch.setattr(mlserver, "LOCK_TIMEOUT", 0.6)
    holder = hold(repository, "iris", 3.0)
    try:
        with pytest.raises(ModelServerError) as caught:
            server(fake, repository).deploy(model(), "iris")
    finally:
        holder.join()
    assert caught.value.message == "another deploy of model 'iris' did not finish in 1s"
    assert caught.value.hint and fake.calls == [] and left(repository) == [".locks"]


def test_a_failed_deploy_leaves_the_lock_free(fake, repository):
    fake.answers[("POST", "/v2/repository/models/iris/load")] = [(400, b'{"error": "no"}'), (200, b"{}")]
    with pytest.raises(ModelServerError):
        server(fake, repository).deploy(model(), "iris")
    started = time.monotonic()
    server(fake, repository).deploy(model(), "iris")
    assert time.monotonic() - started < 5


# --- loads that fail --------------------------------------------------------------------------

def test_a_model_that_fails_to_load_is_replaced_by_the_one_served_before(fake, repository):
    server(fake, repository).deploy(model(0), "iris")
    fake.calls.clear()
    fake.answers[("POST", "/v2/repository/models/iris/load")] = [(400, b'{"error": "sklearn is too old"}'),
                                                                  (200, b"{}")]
    with pytest.raises(ModelServerError) as caught:
        server(fake, repository).deploy(model(1), "iris")
    assert caught.value.message == "model server failed to load model 'iris': sklearn is too old"
    assert "previous version" in caught.value.hint
    assert served(repository) == 0 and left(repository) == [".locks", "iris"]
    assert fake.paths() == ["POST /v2/repository/models/iris/load"] * 2  # the old version loaded again


def test_a_first_version_that_fails_to_load_is_removed(fake, repository):
    fake.answers[("POST", "/v2/repository/models/iris/load")] = [(500, b"Internal Server Error")]
    with pytest.raises(ModelServerError) as caught:
        server(fake, repository).deploy(model(), "iris")
    assert caught.value.message == "model server failed to load model 'iris': Internal Server Error"
    assert left(repository) == [".locks"] and fake.paths() == ["POST /v2/repository/models/iris/load"]


def test_a_server_that_stopped_answering_keeps_the_version_it_served_in_its_repository(fake, repository):
    """It would load the new version when it starts again, though the deploy failed."""
    server(fake, repository).deploy(model(0), "iris")
    fake.http.shutdown()
    fake.http.server_close()  # stopped: connections refused
    with pytest.raises(ModelServerError, match="is unreachable"):
        server(fake, repository).deploy(model(1), "iris")
    assert served(repository) == 0 and left(repository) == [".locks", "iris"]


def test_a_first_version_whose_server_does_not_answer_is_removed(closed_port, repository):
    models = MLServerModelServer({"endpoint": closed_port, "model_repository": str(repository)})
    with pytest.raises(ModelServerError, match="is unreachable"):
        models.deploy(model(), "iris")
    assert left(repository) == [".locks"]


def test_a_refusal_that_is_json_but_no_object_is_quoted_as_it_is(fake, repository):
    fake.answers[("POST", "/v2/repository/models/iris/load")] = [(422, b'["bad", "settings"]')]
    with pytest.raises(ModelServerError) as caught:
        server(fake, repository).deploy(model(), "iris")
    assert caught.value.message == "model server failed to load model 'iris': ['bad', 'settings']"


def test_a_refusal_without_an_error_field_is_quoted_whole(fake, repository):
    fake.answers[("POST", "/v2/repository/models/iris/load")] = [(400, b'{"detail": "x"}')]
    with pytest.raises(ModelServerError) as caught:
        server(fake, repository).deploy(model(), "iris")
    assert caught.value.message == "model server failed to load model 'iris': {'detail': 'x'}"


def test_a_deploy_returns_once_the_model_is_ready(fake, repository):
    fake.answers[("GET", "/v2/models/iris/ready")] = [(404, b""), (404, b""), (200, b"")]
    server(fake, repository).deploy(model(), "iris")
    assert fake.paths().count("GET /v2/models/iris/ready") == 3


def test_a_model_never_ready_is_one_line(fake, repository, monkeypatch):
    monkeypatch.setattr(mlserver, "LOAD_TIMEOUT", 0.5)
    fake.answers[("GET", "/v2/models/iris/ready")] = [(404, b"")]
    with pytest.raises(ModelServerError) as caught:
        server(fake, repository).deploy(model(), "iris")
    assert caught.value.message == "model 'iris' did not become ready in 0s"


# --- refused input and unreachable servers ---------------------------------------------------------

def test_a_model_that_is_not_scikit_learn_is_refused_by_its_type(fake, repository):
    with pytest.raises(InputError) as caught:
        server(fake, repository).deploy({"weights": [1]}, "iris")
    assert caught.value.message == "deploy_model on mlserver serves scikit-learn models, not dict"
    assert fake.calls == [] and left(repository) == []


def test_a_bad_model_name_is_refused_with_what_a_name_may_hold(fake, repository):
    with pytest.raises(InputError) as caught:
        server(fake, repository).deploy(model(), "../iris")
    assert "letters, digits" in caught.value.hint and left(repository) == []


def test_an_unreachable_server_is_one_line_naming_the_url(closed_port, repository):
    models = MLServerModelServer({"endpoint": closed_port, "model_repository": str(repository)})
    with pytest.raises(ModelServerError) as caught:
        models.models()
    assert caught.value.message.startswith(f"model server at {closed_port}/v2/repository/index is unreachable: ")
    assert "\n" not in caught.value.message
    assert caught.value.hint == "is its stack up? `provision stacks` lists them; `provision refresh NAME` says what stopped"


def test_an_unreachable_server_of_a_stack_names_the_commands_for_that_stack(closed_port, repository):
    """Not a placeholder: the refresh that finds the stopped server, the deploy that starts it again."""
    doc = {"name": "feat-x", "recipe": "local", "components": {"model_server": {
        "flavor": "mlserver", "config": {"endpoint": closed_port, "model_repository": str(repository)}}}}
    served = for_stack(doc)
    for call in (served.models, lambda: served.predict("iris", [[1.0]]), lambda: served.deploy(model(), "iris")):
        with pytest.raises(ModelServerError) as caught:
            call()
        assert caught.value.hint == ("is stack 'feat-x' up? `provision refresh feat-x` says what stopped; "
                                     "`provision recipe local --stack feat-x` (with the -c values it was deployed "
                                     "with) starts it again")
    served.recipe = ""
    with pytest.raises(ModelServerError) as caught:
        served.models()
    assert "`provision refresh feat-x`" in caught.value.hint and "a deploy of its recipe" in caught.value.hint


# --- what the requests carry -----------------------------------------------------------------------

def test_the_index_is_asked_with_an_empty_json_object_and_read_as_models(fake, repository):
    fake.answers[("POST", "/v2/repository/index")] = [(200, json.dumps([
        {"name": "iris", "state": "UNAVAILABLE", "reason": "no module sklearn"}, {"name": "wine"}]).encode())]
    assert server(fake, repository).models() == [
        {"name": "iris", "state": "UNAVAILABLE", "reason": "no module sklearn",
         "infer_url": f"{fake.endpoint}/v2/models/iris/infer"},
        {"name": "wine", "state": "", "reason": "", "infer_url": f"{fake.endpoint}/v2/models/wine/infer"}]
    assert fake.calls == [("POST", "/v2/repository/index", "application/json", b"{}")]


def test_an_index_refused_names_the_status(fake, repository):
    fake.answers[("POST", "/v2/repository/index")] = [(503, b"{}")]
    with pytest.raises(ModelServerError, match=f"model server at {fake.endpoint} answered 503 to the repository index"):
        server(fake, repository).models()


def test_a_load_is_a_post_without_a_body(fake, repository):
    server(fake, repository).deploy(model(), "iris")
    method, path, _, body = fake.calls[0]
    assert (method, path, body) == ("POST", "/v2/repository/models/iris/load", b"")


def test_a_prediction_sends_the_rows_as_one_fp64_tensor(fake, repository):
    fake.answers[("POST", "/v2/models/iris/infer")] = [(200, b'{"outputs": [{"data": [1, 0]}]}')]
    assert server(fake, repository).predict("iris", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) == [1, 0]
    method, path, content_type, body = fake.calls[0]
    assert (method, path, content_type) == ("POST", "/v2/models/iris/infer", "application/json")
    assert json.loads(body) == {"inputs": [{"name": "input-0", "shape": [2, 3], "datatype": "FP64",
                                            "data": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}]}


def test_a_prediction_refused_names_the_model_the_status_and_the_answer(fake, repository):
    fake.answers[("POST", "/v2/models/iris/infer")] = [(400, b'{"error": "shape"}')]
    with pytest.raises(ModelServerError) as caught:
        server(fake, repository).predict("iris", [[1.0]])
    assert caught.value.message == "model 'iris' refused the request (400): {'error': 'shape'}"


def test_a_load_answered_with_an_empty_body_is_a_load_done(fake, repository):
    fake.answers[("POST", "/v2/repository/models/iris/load")] = [(200, b"")]  # as MLServer answers it
    server(fake, repository).deploy(model(), "iris")
    assert served(repository) == 1
