"""The run contract: per-node templates, their sandbox and validation, named ports, list answers on one line."""

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.contract import (
    FromHost,
    check_id_base,
    cluster_view,
    compose_env,
    describe,
    env_templates,
    parse_node_env,
    render_args,
    render_env,
    shared_env,
    yaml_quoted,
)
from generator.errors import UsageError
from generator.listtext import parse_list_text
from generator.ports import NamedPort, check_ports, parse_port


def cluster(nodes=3, id_base=0, ports=()):
    return cluster_view("app", nodes, id_base, 8080, 9000, "/data", ports)


def env_of(node_env, nodes=3, id_base=0, default_env=True, from_host=()):
    view = cluster(nodes, id_base)
    return [dict(env) for env in render_env(env_templates(node_env, nodes, default_env), view, from_host)]


# --- the built-in contract -------------------------------------------------------------------------


def test_default_contract_is_todays_environment():
    envs = env_of([])
    assert envs[0] == {"NODE_ID": "0", "PEERS": "app-1:9000,app-2:9000", "HTTP_PORT": "8080", "RAFT_PORT": "9000", "DATA_DIR": "/data"}
    assert envs[2]["NODE_ID"] == "2"
    assert envs[2]["PEERS"] == "app-0:9000,app-1:9000"


def test_one_node_has_no_cluster_variables():
    (env,) = env_of([], nodes=1)
    assert env == {"NODE_ID": "0", "HTTP_PORT": "8080", "DATA_DIR": "/data"}


def test_no_default_env_leaves_only_the_users_contract():
    envs = env_of(["APP_ID={{ node.id }}"], default_env=False)
    assert envs == [{"APP_ID": "0"}, {"APP_ID": "1"}, {"APP_ID": "2"}]


def test_a_user_key_replaces_the_built_in_one_in_place():
    keys = [key for key, _ in env_templates(["NODE_ID={{ node.id + 100 }}"], 3)]
    assert keys == ["NODE_ID", "PEERS", "HTTP_PORT", "RAFT_PORT", "DATA_DIR"]
    assert env_of(["NODE_ID={{ node.id + 100 }}"])[1]["NODE_ID"] == "101"


# --- what must work --------------------------------------------------------------------------------


def test_app_id_with_an_id_base():
    envs = env_of(["APP_ID={{ node.id }}"], id_base=1, default_env=False)
    assert [e["APP_ID"] for e in envs] == ["1", "2", "3"]


def test_id_base_keeps_index_based_service_names():
    view = cluster(3, id_base=7)
    assert [(n.index, n.id, n.service) for n in view.nodes] == [(0, 7, "app-0"), (1, 8, "app-1"), (2, 9, "app-2")]


def test_peers_by_raft_address():
    envs = env_of(['APP_PEERS={{ node.peers | map(attribute="raft_address") | join(",") }}'], default_env=False)
    assert envs[1]["APP_PEERS"] == "app-0:9000,app-2:9000"


def test_listen_arguments():
    args = render_args(["--listen", "0.0.0.0:{{ http_port }}"], cluster())
    assert args == (("--listen", "0.0.0.0:8080"),) * 3


def test_first_node_differs_from_the_others():
    templates = [
        "{% if node.index == 0 %}--uri{% else %}--bootstrap{% endif %}",
        "{{ node.http_address if node.index == 0 else cluster.nodes[0].http_address }}",
    ]
    args = render_args(templates, cluster())
    assert args[0] == ("--uri", "app-0:8080")
    assert args[1] == args[2] == ("--bootstrap", "app-0:8080")


def test_an_argument_that_renders_empty_is_left_out():
    args = render_args(["serve", "{% if node.index == 0 %}--init{% endif %}"], cluster())
    assert args == (("serve", "--init"), ("serve",), ("serve",))


def test_cluster_and_named_port_variables():
    view = cluster(2, ports=(NamedPort("client", 6379),))
    source = "{{ cluster.size }} {{ node.ports.client }} {{ node.addresses.client }} {{ ports.client }} {{ data_dir }} {{ raft_port }}"
    (first, second) = render_args([source], view)
    assert first == ("2 6379 app-0:6379 6379 /data 9000",)
    assert second == ("2 6379 app-1:6379 6379 /data 9000",)


def test_from_host_is_never_a_rendered_value():
    envs = render_env(env_templates([], 2, default_env=False), cluster(2), ["API_TOKEN"])
    assert envs == ((("API_TOKEN", FromHost("API_TOKEN")),),) * 2


# --- bad templates: one line, the flag, the node, the problem --------------------------------------


@pytest.mark.parametrize(
    "text, problem",
    [
        ("APP_ID={{ node.id", "template syntax error"),
        ("APP_ID={{ nodee.id }}", "unknown variable"),
        ("APP_ID={{ node.nope }}", "unknown variable"),
        ("APP_ID={{ node.__class__.__mro__ }}", "not allowed"),
        ("APP_ID={{ cluster.nodes.__len__() }}", "not allowed"),
        ("APP_ID={{ 'x' * 10000000 }}", "not allowed"),
        ("APP_ID={{ 9 ** 999999 }}", "not allowed"),
        ("APP_ID={{ node.id + 'x' }}", "cannot render"),
        ("APP_ID=a{{ '\\n' }}b", "newline"),
        ("APP_ID=a{{ '\\x00' }}b", "NUL"),
    ],
)
def test_bad_env_template(text, problem):
    with pytest.raises(UsageError) as error:
        env_of([text], default_env=False)
    message = str(error.value)
    assert problem in message
    assert message.startswith('--node-env "APP_ID=')
    assert "\n" not in message
    if problem not in ("template syntax error",):
        assert "node 0 (app-0)" in message


def test_error_names_the_node_that_fails():
    with pytest.raises(UsageError, match=r"node 2 \(app-2\)"):
        env_of(["X={{ node.peers[1].service if node.index < 2 else node.peers[5] }}"], default_env=False)


def test_sandbox_cannot_mutate_the_cluster():
    with pytest.raises(UsageError):
        render_args(["{{ node.ports.update({'x': 1}) }}"], cluster(ports=(NamedPort("client", 6379),)))


@pytest.mark.parametrize("text", ["1ABC=x", "A-B=x", "=x", "NOEQUALS"])
def test_bad_env_key(text):
    with pytest.raises(UsageError, match="--node-env"):
        parse_node_env(text)


def test_a_key_given_twice():
    with pytest.raises(UsageError, match="APP_ID is given twice"):
        env_templates(["APP_ID=1", "APP_ID=2"], 3)


def test_from_host_key_collides_with_a_template():
    with pytest.raises(UsageError, match="--node-env-from-host NODE_ID"):
        render_env(env_templates([], 3), cluster(), ["NODE_ID"])


def test_from_host_key_must_be_a_name():
    with pytest.raises(UsageError, match="not an environment variable name"):
        render_env((), cluster(), ["BAD-KEY"])


def test_nul_in_an_argument():
    with pytest.raises(UsageError, match='--node-arg "x{{'):
        render_args(["x{{ '\\x00' }}"], cluster())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_template_text_is_a_value_or_one_usage_error(source):
    try:
        envs = env_of([f"APP_X={source}"], nodes=2, default_env=False)
    except UsageError as exc:
        assert "\n" not in str(exc)
    else:
        assert all("\x00" not in e["APP_X"] and "\n" not in e["APP_X"] for e in envs)


# --- compose output --------------------------------------------------------------------------------


def test_compose_env_escapes_text_and_interpolates_from_host():
    assert compose_env("a$b") == '"a$$b"'
    assert compose_env(FromHost("TOKEN")) == '"${TOKEN}"'


@given(st.text())
def test_yaml_quoted_reads_back_as_the_text(text):
    assert yaml.safe_load("v: " + yaml_quoted(text))["v"] == text


def test_shared_env_keeps_what_every_node_has_alike():
    envs = render_env(env_templates([], 3), cluster())
    assert [key for key, _ in shared_env(envs)] == ["HTTP_PORT", "RAFT_PORT", "DATA_DIR"]


# --- named ports -----------------------------------------------------------------------------------


def test_parse_port_and_host_ports():
    port = parse_port("client=6379")
    assert port == NamedPort("client", 6379)
    assert [port.host_port(i) for i in range(3)] == [6379, 6380, 6381]


@pytest.mark.parametrize("text", ["client", "Client=1", "http=1", "raft=2", "client=0", "client=65536", "client=x", "1a=5"])
def test_bad_port(text):
    with pytest.raises(UsageError, match="--port"):
        parse_port(text)


def ports_check(ports, nodes=3, publish_raft=False, host=8080):
    check_ports(
        [parse_port(p) for p in ports], http_port=8080, raft_port=9000, first_host_port=host, nodes=nodes, publish_raft=publish_raft
    )


def test_ports_apart_pass():
    ports_check(["client=6379", "admin=7000"])


@pytest.mark.parametrize(
    "ports, kwargs, message",
    [
        (["client=8080"], {}, "also --http-port"),
        (["client=9000"], {}, "also --raft-port"),
        (["a=6379", "a=7000"], {}, "given twice"),
        (["a=6379", "b=6379"], {}, "also --port a=6379"),
        (["a=6379", "b=6380"], {}, "overlap"),
        (["a=8081"], {}, "overlap those of --host-port"),
        (["a=9001"], {"publish_raft": True}, "overlap"),
        (["a=65534"], {}, "past 65535"),
    ],
)
def test_port_collisions(ports, kwargs, message):
    with pytest.raises(UsageError, match=message):
        ports_check(ports, **kwargs)


def test_raft_range_only_counts_when_published():
    ports_check(["a=9001"])


# --- lists on one line -----------------------------------------------------------------------------


def test_json_array_carries_commas():
    assert parse_list_text("node_env", '["A=1,2", "B=x"]', None) == ("A=1,2", "B=x")


def test_plain_text_is_one_template_without_a_separator():
    assert parse_list_text("node_env", 'P={{ node.peers | join(",") }}', None) == ('P={{ node.peers | join(",") }}',)
    assert parse_list_text("node_env", "  ", None) == ()


def test_plain_text_keeps_splitting_lists_that_have_a_separator():
    assert parse_list_text("features", "a, b,,c", ",") == ("a", "b", "c")
    assert parse_list_text("health_command", "check  --fast", " ") == ("check", "--fast")


@pytest.mark.parametrize("text", ["[::]:8080", '["a", 1]', '{"a": 1}'.join("[]")])
def test_bracketed_text_that_is_not_a_list_of_strings(text):
    with pytest.raises(UsageError, match="node_arg"):
        parse_list_text("node_arg", text, None)


@given(st.lists(st.text()))
def test_json_form_round_trips_any_list(items):
    assert parse_list_text("node_env", json.dumps(items), None) == tuple(items)


def test_compose_reads_rendered_values_back_and_takes_host_values_from_the_host(monkeypatch):
    from tests.validators import compose_resolved

    monkeypatch.setenv("API_TOKEN", "from-the-host")
    templates = env_templates(['ODD=a$b ${HOME} "q" \\ {{ node.id }} é', "HOME_DIR=$HOME"], 2)
    envs = render_env(templates, cluster(2), ["API_TOKEN"])
    services = "".join(
        f"  app-{i}:\n    image: app:latest\n    environment:\n"
        + "".join(f"      {key}: {compose_env(value)}\n" for key, value in env)
        for i, env in enumerate(envs)
    )
    resolved = compose_resolved("services:\n" + services)["services"]
    # `config` writes a compose file again, so a literal `$` comes back doubled
    assert resolved["app-1"]["environment"]["ODD"] == 'a$$b $${HOME} "q" \\ 1 é'
    assert resolved["app-0"]["environment"]["HOME_DIR"] == "$$HOME"
    assert resolved["app-0"]["environment"]["API_TOKEN"] == "from-the-host"
    assert resolved["app-0"]["environment"]["PEERS"] == "app-1:9000"


def test_from_host_key_given_twice():
    with pytest.raises(UsageError, match="--node-env-from-host TOKEN: given twice"):
        render_env((), cluster(), ["TOKEN", "TOKEN"])


def test_from_host_key_of_the_built_in_contract_says_how_to_free_it():
    with pytest.raises(UsageError, match="--no-default-env"):
        render_env(env_templates([], 3), cluster(), ["PEERS"])


@pytest.mark.parametrize("value", [-1, 1_000_001])
def test_id_base_range(value):
    with pytest.raises(UsageError, match="--id-base"):
        check_id_base(value)


def test_describe_shows_the_contract_of_one_node():
    view = cluster(2)
    env = render_env(env_templates([], 2, default_env=False) + (("APP_ID", "{{ node.id }}"),), view, ["TOKEN"])[1]
    args = render_args(["--name", "node {{ node.id }}"], view)[1]
    assert describe(env, args) == ["APP_ID=1", "TOKEN=${TOKEN} (from the host)", "command: --name 'node 1'"]


@pytest.mark.parametrize(
    "payload",
    [
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ node.peers.__class__ }}",
        "{{ range.__self__ }}",
        "{% for x in range(1000000) %}x{% endfor %}",
        "{{ cluster.nodes | attr('__class__') }}",
    ],
)
def test_template_injection_payloads_are_refused(payload):
    with pytest.raises(UsageError) as error:
        render_args([payload], cluster())
    assert str(error.value).startswith('--node-arg "')
    assert any(word in str(error.value) for word in ("not allowed", "unknown variable", "cannot render"))
