"""A step runs once every step it reads has finished, however often it reads each one."""

from zenprovision import pipeline, step
from zenprovision.runtime.dag import DAG


@step
def base() -> int:
    return 3


@step
def pair(a: int, b: int) -> int:
    return a * b


@step
def plus(a: int, b: int = 1) -> int:
    return a + b


@pipeline
def reads_one_output_twice():
    value = base()
    plus(pair(value, value), plus(value))


def test_a_step_reading_one_output_twice_runs_and_so_do_its_successors(local_stack):
    summary = reads_one_output_twice.run(stack=local_stack, cache=False)
    assert summary.steps == {"base": "succeeded", "pair": "succeeded", "plus": "succeeded", "plus_2": "succeeded"}
    assert summary.output("plus_2") == 9 + 4


def test_the_order_lists_every_reader_after_what_it_reads_once():
    dag: DAG = reads_one_output_twice.build()
    order = dag.topological()
    assert sorted(order) == sorted(dag.nodes) and len(order) == len(set(order))
    for node in dag.nodes.values():
        assert all(order.index(up) < order.index(node.id) for up in node.upstream)
    assert dag.children()["base"] == ["pair", "plus"] and dag.downstream("base") == {"pair", "plus", "plus_2"}
