import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from zenprovision.errors import MaterializerError
from zenprovision.runtime import materializers
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
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    m, data = serialize(frame, "x")
    assert m.name == "pandas" and by_name("pandas").loads(data).equals(frame)
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    m, data = serialize(model, "x")
    assert m.name == "sklearn"
    assert list(by_name("sklearn").loads(data).predict([[0.0], [1.0]])) == [0, 1]


def test_unstorable_value_names_step_and_output():
    with pytest.raises(MaterializerError, match="step 'make' output: cannot store a generator"):
        serialize((x for x in range(2)), "step 'make' output")


def test_users_can_register_their_own(monkeypatch):
    monkeypatch.setattr(materializers, "_REGISTRY", list(materializers._REGISTRY))

    class Celsius(float):
        pass

    class CelsiusMaterializer(Materializer):
        name, extension = "celsius", ".txt"

        def handles(self, value):
            return isinstance(value, Celsius)

        def dumps(self, value):
            return f"{float(value)}C".encode()

        def loads(self, data):
            return Celsius(data.decode().rstrip("C"))

    register_materializer(CelsiusMaterializer())
    m, data = serialize(Celsius(21.5), "x")
    assert m.name == "celsius" and data == b"21.5C"


def test_json_keeps_exact_types():
    from collections import Counter, OrderedDict, defaultdict

    for value in (defaultdict(list, a=[1]), Counter("aab"), OrderedDict(a=1), {"nested": defaultdict(int)}):
        materializer, data = serialize(value, "x")
        assert materializer.name == "pickle"
        restored = by_name("pickle").loads(data)
        assert type(restored) is type(value) and restored == value
