"""The ``orbitstore`` command: in process, against a daemon, documented, and honest about pending parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orbitstore.cli.docs import BEGIN, END, commands, reference
from orbitstore.cli.main import cli
from orbitstore.daemon import read_token
from tests.api.test_models import cancer_csv
from tests.daemon.conftest import daemon_process

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
MISSING = "zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"


def run(*args: str, ok: bool = True, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_every_command_has_an_example() -> None:
    names = []
    for path, command, ctx in commands():
        names.append(path)
        text = command.get_help(ctx)
        assert "Example:" in text, path
        example = text.split("Example:", 1)[1].strip().splitlines()[0].strip()
        assert example.startswith("orbitstore"), (path, example)
    for expected in (
        "init", "id", "daemon", "db create", "db open", "db ls", "db info", "add", "put", "get", "del", "query",
        "iterate", "import", "export", "snapshot", "anchor", "verify", "acl grant", "acl revoke", "acl ls",
        "peers", "sync status", "ml train", "ml predict", "ml models", "ml card", "ml reproduce", "ml verify",
        "ml estimators",
    ):  # fmt: skip
        assert f"orbitstore {expected}" in names


def test_every_command_is_documented() -> None:
    page = DOCS.read_text()
    for path, command, ctx in commands():
        assert f"`{path}`" in page, f"{path} is not in docs/cli.md"
        assert command.get_help(ctx) in page, f"the help of {path} in docs/cli.md is stale"
    generated = page.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == reference().strip(), "run: python -m orbitstore.cli.docs docs/cli.md"


def test_in_process(tmp_path: Path) -> None:
    d = str(tmp_path / "node")
    init = json.loads(run("--dir", d, "--json", "init").output)
    assert init["identity_id"] and (tmp_path / "node" / "daemon-token").exists()
    me = json.loads(run("--dir", d, "--json", "id").output)
    assert me["identity_id"] == init["identity_id"] and me["features"]["dataset"] is True
    assert me["features"]["models"] is True
    address = run("--dir", d, "db", "create", "notes", "--type", "events").output.strip()
    assert address.startswith("/orbitdb/zdpu")
    h1 = run("--dir", d, "add", "notes", '{"text": "hello"}').output.strip()
    h2 = run("--dir", d, "add", "notes", "--text", "plain words").output.strip()
    h3 = run("--dir", d, "add", "notes", "-", input='[1, 2, {"x": null}]').output.strip()
    assert run("--dir", d, "get", "notes", h1).output.strip() == '{"text":"hello"}'
    assert json.loads(run("--dir", d, "--json", "get", address, h2).output)["value"] == "plain words"
    page = json.loads(run("--dir", d, "--json", "iterate", "notes", "--limit", "2").output)
    assert [i["hash"] for i in page["items"]] == [h3, h2] and page["cursor"]
    rest = json.loads(run("--dir", d, "--json", "iterate", "notes", "--limit", "2", "--cursor", page["cursor"]).output)
    assert [i["hash"] for i in rest["items"]] == [h1] and rest["cursor"] is None
    everything = json.loads(run("--dir", d, "--json", "iterate", "notes", "--limit", "1", "--all").output)
    assert len(everything["items"]) == 3
    assert "more: --cursor" in run("--dir", d, "iterate", "notes", "--limit", "1").output
    assert run("--dir", d, "heads", "notes").output.strip() == h3

    run("--dir", d, "db", "create", "people", "--type", "documents", "--index-by", "id")
    run("--dir", d, "put", "people", '{"id": "ada", "city": "London", "born": 1815}')
    run("--dir", d, "put", "people", '{"id": "alan", "city": "London", "born": 1912}')
    run("--dir", d, "put", "people", '{"id": "grace", "city": "New York", "born": 1906}')
    found = json.loads(run("--dir", d, "--json", "query", "people", "city=London").output)
    assert [i["key"] for i in found] == ["alan", "ada"]
    assert (
        json.loads(run("--dir", d, "--json", "query", "people", "city=London", "born=1815").output)[0]["key"] == "ada"
    )
    assert run("--dir", d, "query", "people", "city=Paris").output.strip() == "no match"
    run("--dir", d, "del", "people", "alan")
    assert [i["key"] for i in json.loads(run("--dir", d, "--json", "query", "people", "city=London").output)] == ["ada"]

    run("--dir", d, "db", "create", "settings", "--type", "keyvalue", "--access", "orbitdb")
    run("--dir", d, "put", "settings", '"dark"', "--key", "theme")
    assert run("--dir", d, "get", "settings", "theme").output.strip() == '"dark"'
    other = "03" + "ab" * 32
    granted = json.loads(run("--dir", d, "--json", "acl", "grant", "settings", "write", other).output)
    assert granted["capabilities"]["write"] == [other]
    assert other in run("--dir", d, "acl", "ls", "settings").output
    revoked = json.loads(run("--dir", d, "--json", "acl", "revoke", "settings", "write", other).output)
    assert "write" not in revoked["capabilities"]

    listed = json.loads(run("--dir", d, "--json", "db", "ls").output)
    assert [x["name"] for x in listed] == ["notes", "people", "settings"]
    info = run("--dir", d, "db", "info", "notes").output
    assert address in info and "ipfs (fixed; write: 1)" in info
    assert json.loads(run("--dir", d, "--json", "db", "open", address).output)["open"] is True
    assert run("--dir", d, "db", "close", "notes").output.strip() == "closed"


def test_errors_are_clean(tmp_path: Path) -> None:
    d = str(tmp_path / "node")
    run("--dir", d, "db", "create", "notes", "--type", "events")
    result = run("--dir", d, "get", "notes", MISSING, ok=False)
    assert result.exit_code == 1 and "Error: NotFound: no event" in result.output
    result = run("--dir", d, "add", "nope", "1", ok=False)
    assert result.exit_code == 1 and "NotFound" in result.output and "nope" in result.output
    result = run("--dir", d, "add", "notes", "not json", ok=False)
    assert result.exit_code == 2 and "must be JSON" in result.output
    result = run("--dir", d, "put", "notes", "1", "--key", "k", ok=False)
    assert result.exit_code == 1 and "InvalidRequest" in result.output
    result = run("--dir", d, "db", "create", "x", "--type", "nosuch", ok=False)
    assert result.exit_code == 1 and "unknown database type" in result.output
    result = run("--dir", d, "query", "notes", "no-equals-sign", ok=False)
    assert result.exit_code == 2


PENDING = [
    (["peers"], "sync"),
    (["sync", "status", "notes"], "sync"),
]


@pytest.mark.parametrize(("args", "part"), PENDING)
def test_pending_parts_fail_clearly(tmp_path: Path, args: list[str], part: str) -> None:
    d = str(tmp_path / "node")
    run("--dir", d, "db", "create", "notes", "--type", "events")
    result = run("--dir", d, *args, ok=False)
    assert result.exit_code == 1
    assert f"Error: not available yet: {part}" in result.output
    assert result.stdout.strip() == ""  # no made-up result


def test_against_a_daemon(tmp_path: Path) -> None:
    directory = tmp_path / "node"
    run("--dir", str(directory), "init")
    with daemon_process(directory) as (_, url, _log):
        token = read_token(directory)
        assert token is not None
        # through the daemon named by daemon.json in --dir
        address = run("--dir", str(directory), "db", "create", "notes", "--type", "events").output.strip()
        entry = run("--dir", str(directory), "add", "notes", '{"via": "daemon.json"}').output.strip()
        # or explicitly with --api and --token, from anywhere
        elsewhere = str(tmp_path / "elsewhere")
        assert run("--dir", elsewhere, "--api", url, "--token", token, "get", address, entry).output.strip() == (
            '{"via":"daemon.json"}'
        )
        me = json.loads(run("--dir", elsewhere, "--api", url, "--token", token, "--json", "id").output)
        assert me["storage"] == "embedded"
        result = run("--dir", elsewhere, "--api", url, "--token", "wrong-token-wrong", "id", ok=False)
        assert result.exit_code == 1 and "Unauthorized" in result.output
        result = run("--dir", elsewhere, "--api", url, "id", ok=False)
        assert "no token" in result.output
        result = run("--dir", str(directory), "--local", "id", ok=False)
        assert result.exit_code == 1 and "is a daemon using" in result.output
        result = run("--dir", str(directory), "snapshot", "notes", ok=False)
        assert "not a dataset" in result.output
        assert run("--dir", str(directory), "ml", "models").output.strip() == "no models"
        # a dataset through the daemon: upload with a progress bar, export, snapshot
        csv = tmp_path / "rows.csv"
        csv.write_text("pid,x,y\n" + "".join(f"r{i},{i},{i % 7 * 2}\n" for i in range(500)))
        run("--dir", str(directory), "db", "create", "rows", "--type", "dataset")
        imported = run("--dir", str(directory), "import", "rows", str(csv), "--id-column", "pid")
        assert "imported 500 rows" in imported.stdout and "importing" in imported.stderr
        assert run("--dir", str(directory), "get", "rows", "r7").output.strip() == '{"pid":"r7","x":7,"y":0}'
        exported = run("--dir", str(directory), "export", "rows").stdout.splitlines()
        assert exported[0] == "id,pid,x,y" and len(exported) == 501
        # a model through the daemon: y is a function of x that a tree learns
        trained = json.loads(
            run("--dir", str(directory), "--json", "ml", "train", "rows", "--target", "y", "--estimator",
                "decision_tree", "--cv", "0").stdout
        )  # fmt: skip
        assert trained["task"] == "regression" and trained["version"] == 1
        predicted = run("--dir", str(directory), "ml", "predict", trained["card"], '[{"x": 9}, {"x": 10}]')
        values = [float(v) for v in predicted.stdout.split()]
        assert len(values) == 2 and set(values) <= {0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0}  # a leaf: one y seen
        listed = run("--dir", str(directory), "ml", "models", "rows").output
        assert trained["card"] in listed and "DecisionTreeRegressor" in listed
    result = run("--dir", elsewhere, "--api", url, "--token", token, "id", ok=False)
    assert result.exit_code == 1 and "no orbitstore daemon at" in result.output
    # the daemon flushed on exit: in process, the entry is there
    assert run("--dir", str(directory), "get", "notes", entry).output.strip() == '{"via":"daemon.json"}'


def test_dataset_in_process(tmp_path: Path) -> None:
    d = str(tmp_path / "node")
    csv = tmp_path / "patients.csv"
    csv.write_text("pid,age,bmi,sick\np1,54,27.1,true\np2,31,22.5,false\n")
    address = run("--dir", d, "db", "create", "patients", "--type", "dataset").output.strip()
    assert json.loads(run("--dir", d, "--json", "acl", "ls", "patients").output)["type"] == "dataset"
    result = run("--dir", d, "import", "patients", str(csv), "--id-column", "pid", "--target", "sick", "-q")
    assert result.stdout.strip() == f"imported 2 rows into {address}"
    schema = json.loads(run("--dir", d, "--json", "schema", "patients").output)
    assert schema["target"] == "sick" and [c["type"] for c in schema["columns"]] == ["str", "int", "float", "bool"]
    run("--dir", d, "put", "patients", '{"pid": "p3", "age": 70, "bmi": 31.0, "sick": true}', "--key", "p3")
    result = run("--dir", d, "put", "patients", '{"age": "old"}', "--key", "p4", ok=False)
    assert result.exit_code == 1 and "SchemaError" in result.output
    evolved = json.loads(
        run("--dir", d, "--json", "schema", "patients", "--set", json.dumps({"v": 1, "target": "sick", "columns": [
            *schema["columns"], {"name": "note", "type": "str", "nullable": True}]})).output
    )  # fmt: skip
    assert evolved["columns"][-1]["name"] == "note"
    out = tmp_path / "out.csv"
    run("--dir", d, "export", "patients", "-o", str(out))
    assert out.read_text().splitlines() == [
        "id,pid,age,bmi,sick,note",
        "p1,p1,54,27.1,true,",
        "p2,p2,31,22.5,false,",
        "p3,p3,70,31.0,true,",
    ]
    snap = run("--dir", d, "snapshot", "patients").output.strip()
    assert snap.startswith("zdpu")
    assert json.loads(run("--dir", d, "--json", "snapshot", "patients").output)["cid"] == snap
    other = "03" + "ab" * 32
    granted = json.loads(run("--dir", d, "--json", "acl", "grant", "patients", "read", other).output)
    assert granted["capabilities"]["read"] == [other]

    anchored = run("--dir", d, "anchor", snap).output
    assert f"{snap}  anchored  receipt zdpu" in anchored and "NOT A PUBLIC CHAIN" in anchored
    receipt = anchored.split("receipt ", 1)[1].split()[0]
    status = json.loads(run("--dir", d, "--json", "anchor", snap, "--status").output)
    assert status["status"] == "anchored" and status["receipt"] == receipt  # restored from the journal
    verified = run("--dir", d, "verify", snap).output
    assert verified.startswith(f"verified: {snap} in a batch of 1") and "NOT A PUBLIC CHAIN" in verified
    assert json.loads(run("--dir", d, "--json", "verify", receipt).output)["ok"] is True
    ledger = Path(d) / "anchors" / "ledger" / "anchors.ledger"
    ledger.write_bytes(ledger.read_bytes().replace(b'"count":1', b'"count":2'))
    result = run("--dir", d, "verify", snap, ok=False)
    assert result.exit_code == 1 and "NOT verified" in result.output


def test_ml_in_process(tmp_path: Path) -> None:
    d = str(tmp_path / "node")
    data, rows = cancer_csv(step=5)
    csv = tmp_path / "cancer.csv"
    csv.write_bytes(data)
    run("--dir", d, "db", "create", "cancer", "--type", "dataset")
    run("--dir", d, "import", "cancer", str(csv), "--id-column", "pid", "--target", "diagnosis", "-q")
    names = run("--dir", d, "ml", "estimators", "--task", "classification").stdout
    assert "random_forest" in names and "RandomForestClassifier" in names and "Ridge " not in names
    result = run("--dir", d, "ml", "train", "cancer", "--param", "n_estimators=6", "--cv", "2", "--anchor")
    assert "training random_forest on cancer…" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("trained RandomForestClassifier v1 on /orbitdb/")
    card = lines[1].split()[1]
    assert card.startswith("zdpu") and lines[4].startswith("anchor    zdpu") and "accuracy 0." in lines[5]
    assert run("--dir", d, "ml", "models").stdout.startswith(f"v1   {card}  RandomForestClassifier")
    assert run("--dir", d, "ml", "card", card).stdout.startswith("# Model card: RandomForestClassifier")
    assert json.loads(run("--dir", d, "--json", "ml", "card", card).stdout)["card"]["params"]["n_estimators"] == 6
    predicted = run("--dir", d, "ml", "predict", card, json.dumps(rows[:2]), "--proba").stdout.splitlines()
    assert len(predicted) == 2 and all(line.startswith(('"benign"', '"malignant"')) for line in predicted)
    assert '("benign" 0.' in predicted[0] or '("benign" 1.' in predicted[0]
    values = json.loads(run("--dir", d, "--json", "ml", "predict", card, "-", input=json.dumps(rows[0])).stdout)
    assert len(values["values"]) == 1 and values["probabilities"] is None
    verified = run("--dir", d, "ml", "verify", card).stdout
    assert verified.splitlines()[-1] == "provenance verified" and "pass  anchor-chain" in verified
    assert run("--dir", d, "ml", "reproduce", card).stdout.startswith("reproduced: match")
    result = run("--dir", d, "ml", "predict", card, '{"nonsense": 1}', ok=False)
    assert result.exit_code == 1 and "ModelError" in result.output and "nonsense" in result.output
    result = run("--dir", d, "ml", "verify", MISSING, ok=False)
    assert result.exit_code == 1 and "NOT verified: card" in result.stdout
    result = run("--dir", d, "ml", "train", ok=False)
    assert result.exit_code == 2 and "DB or --snapshot" in result.output
