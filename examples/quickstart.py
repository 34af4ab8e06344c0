"""Train an iris classifier, deploy it to the stack's model server, and ask it a question.

    provision recipe local --stack dev --yes
    provision run examples/quickstart.py --stack dev
"""

from __future__ import annotations

import json
import urllib.request

from zenprovision import deploy_model, log_metadata, pipeline, step


@step
def load() -> dict:
    from sklearn.datasets import load_iris

    iris = load_iris()
    return {"features": iris.data.tolist(), "labels": iris.target.tolist()}


@step
def split(data: dict, test_size: float = 0.25) -> dict:
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        data["features"], data["labels"], test_size=test_size, random_state=42, stratify=data["labels"]
    )
    return {"x_train": x_train, "x_test": x_test, "y_train": y_train, "y_test": y_test}


@step(retries=2)
def train(splits: dict, c: float = 1.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=500).fit(splits["x_train"], splits["y_train"])


@step
def evaluate(model, splits: dict) -> float:
    accuracy = float(model.score(splits["x_test"], splits["y_test"]))
    log_metadata(run=True, accuracy=round(accuracy, 4))
    return accuracy


@step(cache=False)
def query(deployment: dict, splits: dict) -> dict:
    """Ask the deployed model over HTTP, as any client would (Open Inference Protocol v2)."""
    row = splits["x_test"][0]
    body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": row}]}
    request = urllib.request.Request(deployment["infer_url"], data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        predicted = json.loads(response.read())["outputs"][0]["data"][0]
    log_metadata(run=True, prediction=predicted, expected=splits["y_test"][0])
    return {"input": row, "predicted": predicted, "expected": splits["y_test"][0]}


@pipeline
def training(c: float = 1.0, test_size: float = 0.25):
    splits = split(load(), test_size=test_size)
    model = train(splits, c=c)
    evaluate(model, splits)
    deployment = deploy_model(model, name="iris")
    query(deployment, splits)


if __name__ == "__main__":
    import sys

    summary = training.run(stack=sys.argv[1] if len(sys.argv) > 1 else "dev")
    print(summary.output("query"))
