import numpy as np
import pytest

from zenprovision.errors import MaterializerError
from zenprovision.runtime import flavors, materializers
from zenprovision.runtime.execution import load_artifact, save_artifact
from zenprovision.runtime.materializers import Materializer, by_name, register_materializer, serialize


@pytest.mark.parametrize("value, name", [
    ({"a": [1, 2.5, None, "x"]}, "json"),
    ("text", "json"),
    (b"\x00raw", "bytes"),
    ((1, 2), "pickle"),  # a tuple would come back as a list through JSON
    ({1: "int keys"}, "pickle"),
])
def test_round_trip(value, name):
    materializer, data = serialize(value, "step 's' output")
    assert materializer.name == name
    assert by_name(name).loads(data) == value


def test_numpy_pandas_sklearn():
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    m, data = serialize(array, "x")
    assert m.name == "numpy" and np.array_equal(by_name("numpy").loads(data), array)
    import pandas as pd  # pandas and scikit-learn take seconds to import: only here, not at collection

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    m, data = serialize(frame, "x")
    assert m.name == "pandas" and by_name("pandas").loads(data).equals(frame)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    m, data = serialize(model, "x")
    assert m.name == "sklearn"
    assert list(by_name("sklearn").loads(data).predict([[0.0], [1.0]])) == [0, 1]


def test_unstorable_value_names_step_and_output():
    with pytest.raises(MaterializerError, match="step 'make' output: cannot store a generator"):
        serialize((x for x in range(2)), "step 'make' output")


class Celsius(float):
    """A user's own type, which no built-in materializer should claim first."""


class CelsiusMaterializer(Materializer):
    name, extension = "celsius", ".txt"

    def handles(self, value):
        return isinstance(value, Celsius)

    def dumps(self, value):
        return f"{float(value)}C".encode()

    def loads(self, data):
        return Celsius(data.decode().removesuffix("C"))


def test_users_can_register_their_own_and_load_it_back(monkeypatch, tmp_path):
    monkeypatch.setattr(materializers, "_REGISTRY", list(materializers._REGISTRY))
    register_materializer(CelsiusMaterializer())
    m, data = serialize(Celsius(21.5), "x")
    assert m.name == "celsius" and data == b"21.5C"  # ahead of json, which takes any float
    back = by_name("celsius").loads(data)
    assert type(back) is Celsius and back == 21.5

    store = flavors.build("artifact_store", "local", {"path": (tmp_path / "store").as_uri()})
    meta = save_artifact(store, "run/step", Celsius(-3.25), "step 'measure' output")
    assert meta["materializer"] == "celsius" and meta["file"] == "step.txt"
    assert store.read_bytes("run/step.txt") == b"-3.25C"
    loaded = load_artifact(store, meta["relpath"])  # as the next step gets it
    assert type(loaded) is Celsius and loaded == -3.25


def test_registering_a_name_again_replaces_the_first(monkeypatch):
    monkeypatch.setattr(materializers, "_REGISTRY", list(materializers._REGISTRY))
    register_materializer(CelsiusMaterializer())

    class Kelvin(CelsiusMaterializer):
        def loads(self, data):
            return Celsius(float(data.decode().removesuffix("C")) - 273.15)

    register_materializer(Kelvin())
    assert [m.name for m in materializers._REGISTRY].count("celsius") == 1
    assert by_name("celsius").loads(b"273.15C") == 0.0


def test_an_unknown_materializer_name_is_an_error():
    with pytest.raises(MaterializerError):
        by_name("no-such-materializer")


def test_json_keeps_exact_types():
    from collections import Counter, OrderedDict, defaultdict

    for value in (defaultdict(list, a=[1]), Counter("aab"), OrderedDict(a=1), {"nested": defaultdict(int)}):
        materializer, data = serialize(value, "x")
        assert materializer.name == "pickle"
        restored = by_name("pickle").loads(data)
        assert type(restored) is type(value) and restored == value


def test_json_claims_only_what_it_gives_back_exactly():
    from collections import defaultdict

    assert serialize([defaultdict(int, a=1)], "x")[0].name == "pickle"  # a list is searched too
    assert serialize({"x": float("inf")}, "x")[0].name == "pickle"  # strict JSON has no Infinity
    assert serialize([1.5, "a", None], "x")[0].name == "json"


def test_a_registered_materializer_goes_first_even_before_json(monkeypatch):
    monkeypatch.setattr(materializers, "_REGISTRY", list(materializers._REGISTRY))

    class Shout(Materializer):
        name = "shout"

        def handles(self, value):
            return isinstance(value, str)

        def dumps(self, value):
            return value.upper().encode()

    register_materializer(Shout())
    assert materializers._REGISTRY[0].name == "shout"
    assert serialize("quiet", "x") == (materializers._REGISTRY[0], b"QUIET")


def test_numpy_never_pickles_in_either_direction():
    numpy_materializer = by_name("numpy")
    objects = np.array([{"a": 1}], dtype=object)
    with pytest.raises(ValueError):
        numpy_materializer.dumps(objects)
    import io

    pickled = io.BytesIO()
    np.save(pickled, objects, allow_pickle=True)
    with pytest.raises(ValueError):
        numpy_materializer.loads(pickled.getvalue())


def test_pandas_takes_data_frames_only_and_a_users_estimator_is_still_sklearn():
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    assert serialize(pd.Series([1, 2]), "x")[0].name == "pickle"

    # defined outside sklearn, as users do; module-level (pickle finds it), made here (sklearn imports slowly)
    mine = globals()["Mine"] = type("Mine", (LogisticRegression,), {"__module__": __name__})
    chosen, data = serialize(mine().fit([[0.0], [1.0]], [0, 1]), "x")
    assert chosen.name == "sklearn" and type(chosen.loads(data)).__name__ == "Mine"


def test_load_errors_say_what_happened_and_what_to_do(monkeypatch):
    import hashlib

    data = by_name("pickle").dumps((1, 2))
    meta = {"hash": hashlib.sha256(data).hexdigest(), "materializer": "pickle"}
    with pytest.raises(MaterializerError) as changed:
        materializers.load({**meta, "hash": "0" * 64}, data, "run/s/out")
    assert (changed.value.message, changed.value.hint) == (
        "artifact run/s/out does not match the sha256 recorded when it was written; not loading it",
        "it was changed outside zenprovision: re-run the step that wrote it (--no-cache)")
    monkeypatch.setenv("ZENPROVISION_NO_PICKLE", "1")
    with pytest.raises(MaterializerError) as refused:
        materializers.load(meta, data, "run/s/out")
    assert (refused.value.message, refused.value.hint) == (
        "artifact run/s/out is stored with the pickle materializer, which unpickles",
        "no_pickle is on (settings.yaml, ZENPROVISION_NO_PICKLE or --no-pickle): re-run the step that wrote it "
        "(--no-cache) to store it without pickle, or turn no_pickle off if you trust the store")
    with pytest.raises(MaterializerError) as unstorable:
        serialize((1, 2), "step 's' output")
    assert (unstorable.value.message, unstorable.value.hint) == (
        "step 's' output: no materializer for tuple", "no_pickle is on: return plain data, bytes or numpy arrays")
    monkeypatch.delenv("ZENPROVISION_NO_PICKLE")
    with pytest.raises(MaterializerError) as plain:
        serialize((x for x in ()), "step 's' output")
    assert plain.value.hint == "return a picklable value or register a materializer for this type"
