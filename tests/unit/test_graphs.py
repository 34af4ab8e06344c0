"""Drawing a run's step DAG and a recipe's resource tree: boxes, tree, Mermaid, DOT."""

from zenprovision import graphs
from zenprovision.graphs import Graph, Node
from zenprovision.runtime.metadata import MetadataStore

DAG = Graph(
    (Node("load", "load", "succeeded", 0.42), Node("params", "params", "cached", 0.0, "cached from r1"),
     Node("train", "train", "failed", 65.0), Node("report", 'report "v2"', "skipped")),
    (("load", "train"), ("params", "train"), ("train", "report")),
)


def test_mermaid_of_a_known_dag():
    assert graphs.to_mermaid(DAG) == """\
flowchart TD
    n0["load<br/>✓ succeeded 0.4s"]
    n1["params<br/>↺ cached 0.0s<br/>cached from r1"]
    n2["train<br/>✗ failed 1m05s"]
    n3["report #quot;v2#quot;<br/>- skipped"]
    n0 --> n2
    n1 --> n2
    n2 --> n3
    classDef cached fill:#d1ecf1
    classDef failed fill:#f8d7da
    classDef skipped fill:#e2e3e5
    classDef succeeded fill:#d4edda
    class n1 cached
    class n2 failed
    class n3 skipped
    class n0 succeeded
"""


def test_dot_of_a_known_dag():
    assert graphs.to_dot(DAG, "r2") == """\
digraph "r2" {
    rankdir=TB;
    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];
    "load" [label="load\\n✓ succeeded 0.4s", fillcolor="#d4edda"];
    "params" [label="params\\n↺ cached 0.0s\\ncached from r1", fillcolor="#d1ecf1"];
    "train" [label="train\\n✗ failed 1m05s", fillcolor="#f8d7da"];
    "report" [label="report \\"v2\\"\\n- skipped", fillcolor="#e2e3e5"];
    "load" -> "train";
    "params" -> "train";
    "train" -> "report";
}
"""


def test_boxes_put_each_step_below_its_inputs():
    assert graphs.to_boxes(DAG) == """\
┌──────────────────┐  ┌────────────────┐
│ load             │  │ params         │
│ ✓ succeeded 0.4s │  │ ↺ cached 0.0s  │
└──────────────────┘  │ cached from r1 │
                      └────────────────┘
                   ▼
┌────────────────┐
│ train          │
│ ✗ failed 1m05s │
│ ← load, params │
└────────────────┘
        ▼
┌─────────────┐
│ report "v2" │
│ - skipped   │
│ ← train     │
└─────────────┘
"""


def test_a_wide_layer_wraps_at_the_width():
    wide = Graph(tuple(Node(f"step{i}", f"step{i}", "succeeded", 1.0) for i in range(6)), ())
    lines = graphs.to_boxes(wide, width=60).splitlines()
    assert max(len(line) for line in lines) <= 60
    assert sum(line.count("step") for line in lines) == 6


def test_layers_follow_the_longest_path():
    diamond = Graph((Node("a", "a"), Node("b", "b"), Node("c", "c"), Node("d", "d")),
                    (("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")))
    assert [[n.id for n in layer] for layer in graphs.layers(diamond)] == [["a"], ["b"], ["c"], ["d"]]


def test_tree_of_components_and_resources():
    tree = Graph((Node("c", "network", group=True, detail="zenprovision:aws:AwsNetwork"),
                  Node("v", "vpc", "create", detail="aws:ec2/vpc:Vpc"),
                  Node("s", "subnet", "create", detail="aws:ec2/subnet:Subnet"),
                  Node("b", "bucket", "update")), (("c", "v"), ("c", "s")))
    assert graphs.to_tree(tree, "aws-k8s -> stack dev") == """\
aws-k8s -> stack dev
├── network  (zenprovision:aws:AwsNetwork)
│   ├── + vpc  (aws:ec2/vpc:Vpc)
│   └── + subnet  (aws:ec2/subnet:Subnet)
└── ~ bucket
"""


def _record_run(home) -> None:
    meta = MetadataStore("dev")
    meta.start_run("r1", "train", "p.py", "dev", {}, None)
    for node, inputs in (("load", {}), ("train", {"data": "load"})):
        meta.step_status("r1", node, node, "running")
        artifact = meta.add_artifact("r1", node, "output", {"uri": f"file:///a/{node}", "relpath": node, "hash": "h",
                                                            "materializer": "m", "type": "t", "size": 1})
        meta.add_lineage("r1", node, {name: 1 for name in inputs})
        meta.step_status("r1", node, node, "succeeded")
        assert artifact
    meta.step_status("r1", "report", "report", "skipped")
    meta.end_run("r1", "failed")
    meta.close()


def test_run_graph_edges_come_from_lineage(home):
    _record_run(home)
    graph = graphs.run_graph(MetadataStore("dev").run("r1"))
    assert [n.id for n in graph.nodes] == ["load", "train", "report"]
    assert graph.edges == (("load", "train"),)
    assert [n.status for n in graph.nodes] == ["succeeded", "succeeded", "skipped"]


def test_runs_show_draws_the_dag_and_writes_mermaid_and_dot(home, cli):
    _record_run(home)
    shown = cli("runs", "show", "r1")
    assert shown.code == 0, shown.err
    assert "│ train" in shown.out and "← load" in shown.out and "file:///a/train" in shown.out
    mermaid = cli("runs", "show", "r1", "--format", "mermaid").out
    assert mermaid.startswith("flowchart TD\n") and "    n0 --> n1\n" in mermaid
    assert cli("runs", "show", "r1", "--format", "dot").out.startswith('digraph "r1" {')


def test_plan_graph_draws_the_recipe_tree(home, cli, fixture_recipes):
    tree = cli("plan", "cloudish", "--stack", "c", "-c", "bucket_name=mine", "--graph")
    assert tree.code == 0, tree.err
    assert tree.out == "cloudish -> stack c\n└── + artifacts  (aws:s3/bucket:Bucket)\n"
    dot = cli("plan", "cloudish", "--stack", "c", "-c", "bucket_name=mine", "--graph", "dot")
    assert '[label="artifacts\\n+ create\\naws:s3/bucket:Bucket", fillcolor="#d4edda"]' in dot.out
    assert cli("plan", "cloudish", "--stack", "c", "--graph", "--json").code == 2
