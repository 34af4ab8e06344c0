import pytest

from zenprovision import pipeline, step
from zenprovision.errors import PipelineDefinitionError
from zenprovision.runtime.dag import DAG


@step
def load() -> dict:
    return {"x": 1}


@step
def train(data: dict, c: float = 1.0) -> float:
    return data["x"] * c


@pipeline
def simple(c: float = 1.0):
    train(load(), c=c)


def test_steps_outside_a_pipeline_are_plain_functions():
    assert train({"x": 2}, c=3) == 6


def test_building_makes_nodes_and_edges_without_running():
    dag = simple.build(c=0.5)
    assert set(dag.nodes) == {"load", "train"}
    assert dag.nodes["train"].inputs == {"data": "load"}
    assert dag.nodes["train"].params == {"c": 0.5}
    assert dag.topological() == ["load", "train"]


def test_repeated_steps_get_distinct_ids_and_independent_nodes():
    @pipeline
    def twice():
        a, b = load(), load()
        train(a)
        train(b)

    dag = twice.build()
    assert set(dag.nodes) == {"load", "load_2", "train", "train_2"}
    assert dag.nodes["train_2"].upstream == {"load_2"}
    assert dag.downstream("load") == {"train"}


def test_parameters_are_coerced_and_checked():
    assert simple.parameters({"c": "0.25"}) == {"c": 0.25}
    with pytest.raises(PipelineDefinitionError, match="'c' must be float"):
        simple.build(c="lots")
    with pytest.raises(PipelineDefinitionError, match="no parameter 'gamma'"):
        simple.build(gamma=1)


def test_missing_input_is_caught_before_running():
    @pipeline
    def broken():
        train()

    with pytest.raises(PipelineDefinitionError, match="missing its input 'data'"):
        broken.build()


def test_wrong_constant_type_and_unknown_argument():
    @pipeline
    def typed():
        train(load(), c="high")

    with pytest.raises(PipelineDefinitionError, match="'c' must be float"):
        typed.build()

    @pipeline
    def extra():
        train(load(), gamma=2)

    with pytest.raises(PipelineDefinitionError, match="unexpected keyword argument 'gamma'"):
        extra.build()


def test_unpacking_an_output_is_a_clear_error():
    @pipeline
    def unpack():
        a, b = load()

    with pytest.raises(TypeError, match="cannot be unpacked"):
        unpack.build()


def test_empty_pipeline_and_cycles_are_rejected():
    @pipeline
    def empty():
        pass

    with pytest.raises(PipelineDefinitionError, match="calls no steps"):
        empty.build()
    dag = DAG("cyclic")
    dag.add(train, ({"x": 1},), {})
    dag.nodes["train"].inputs["data"] = "train"
    with pytest.raises(PipelineDefinitionError, match="cycle"):
        dag.validate()


@step
def total(*parts: int, scale: int = 1, **named: int) -> int:
    return (sum(parts) + sum(named.values())) * scale


def test_varargs_and_kwargs_fan_in():
    @pipeline
    def fan_in():
        total(load(), load(), 3, scale=2, extra=load())

    dag = fan_in.build()
    node = dag.nodes["total"]
    assert node.inputs == {"parts[0]": "load", "parts[1]": "load_2", "named[extra]": "load_3"}
    assert node.params == {"parts[2]": 3, "scale": 2}
    values = {"parts[1]": 20, "parts[0]": 10, "parts[2]": 3, "scale": 2, "named[extra]": 5}
    assert total.call(values) == (10 + 20 + 3 + 5) * 2
