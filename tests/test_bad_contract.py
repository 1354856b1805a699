"""Bad run-contract answers through the real command line: one line naming the flag, exit 2, nothing written."""

from __future__ import annotations

import json

import pytest
import yaml
from test_bad_input import assert_clean_failure, snapshot

from conftest import make_crate, run_scaffold

BAD = {
    "syntax": (["--node-env", "APP_ID={{ node.id "], "--node-env", "template syntax error"),
    "unknown variable": (["--node-env", "APP_ID={{ node.name }}"], "--node-env", "unknown variable"),
    "sandbox": (["--node-arg", "{{ node.__class__.__mro__ }}"], "--node-arg", "not allowed in a template"),
    "huge repeat": (["--node-arg", "{{ 'x' * 10000000 }}"], "--node-arg", "not allowed in a template"),
    "NUL in env": (["--node-env", 'APP_ID={{ "a\\x00b" }}'], "--node-env", "a NUL"),
    "newline in env": (["--node-env", "APP_ID={{ node.id }}\n"], "--node-env", "a newline"),
    "NUL in an arg": (["--node-arg", '{{ "a\\x00b" }}'], "--node-arg", "NUL"),
    "no equals": (["--node-env", "APP_ID"], "--node-env", "expected KEY=TEMPLATE"),
    "bad key": (["--node-env", "1APP=x"], "--node-env", "not an environment variable name"),
    "key twice": (["--node-env", "A=1", "--node-env", "A=2"], "--node-env", "given twice"),
    "from host also a template": (["--node-env-from-host", "NODE_ID"], "--node-env-from-host NODE_ID", "built-in contract"),
    "port name reserved": (["--port", "http=81"], "--port", "NAME=PORT"),
    "port name twice": (["--port", "client=6379", "--port", "client=6380"], "--port client=6380", "given twice"),
    "port number is the http port": (["--port", "client=8080"], "--port client=8080", "--http-port"),
    "host ranges overlap": (["--port", "a=7000", "--port", "b=7001"], "--port b=7001", "overlap"),
    "port past 65535": (["--port", "a=65535"], "--port a=65535", "past 65535"),
    "id base": (["--id-base", "2000000"], "--id-base", "1000000"),
    "data dir over /tmp": (["--data-dir", "/tmp"], "--data-dir /tmp", "overlap"),
    "data dir over the binary": (["--data-dir", "/usr"], "--data-dir /usr", "binary's folder"),
    "health exec newline": (["--healthcheck", "exec", "--data", 'health_exec=["/bin/app", "a\\nb"]'], "--health-exec", "newline"),
    "tcp without a shell": (["--runtime", "distroless", "--healthcheck", "tcp"], "--healthcheck tcp", "no shell"),
    "data list not json": (["--data", "node_env=[APP_ID=1"], "node_env", "JSON array"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_contract_answer_is_one_line_and_writes_nothing(tmp_path, case):
    args, flag, problem = BAD[case]
    crate = make_crate(tmp_path / "crate")
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input", *args)
    assert_clean_failure(result, 2, flag, problem)
    assert snapshot(crate) == before


def test_data_carries_a_list_of_values_with_commas_as_a_json_array(tmp_path):
    crate = make_crate(tmp_path / "crate")
    peers = 'APP_PEERS={{ node.peers | map(attribute="raft_address") | join(",") }}'
    result = run_scaffold("init", str(crate), "--no-input", "-q", "--data", "node_env=" + json.dumps(["APP_ID={{ node.id }}", peers]))
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load((crate / "docker-compose.yml").read_text())["services"]
    assert services["demo-1"]["environment"]["APP_ID"] == "1"
    assert services["demo-1"]["environment"]["APP_PEERS"] == "demo-0:9000,demo-2:9000"
    assert "generated:" not in result.stdout  # -q: no summary
