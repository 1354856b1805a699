"""The one registry of what `scaffold check` can report.

Every finding names a rule in RULES: scaffold's own rules (SCnnn), and one entry per external tool
whose findings are passed on (a finding `hadolint:DL3008` belongs to the entry `hadolint`). A rule
fixes the severity (a tool's entry only gives the default: its findings keep the tool's own level),
the message template, whether a project may waive it, and which tool codes it replaces, so the same
problem is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")  # most severe first


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity  # "error" fails the check; for a tool's entry, the level of an unknown tool level
    message: str  # str.format template; its fields are the finding's details
    waivable: bool  # a project may accept the risk (check_waivers); never for unreadable files or checks not run
    replaces: tuple[str, ...] = ()  # tool codes reporting the same problem: dropped where this rule reports it


@dataclass(frozen=True)
class Finding:
    file: str  # path as given or found under the checked folder
    line: int | None
    rule: str  # a code in RULES, or TOOL:CODE for a tool's entry
    message: str
    severity: Severity

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: [{self.rule}] {self.message}"


_RULE_LIST = (
    # Checkers that could not run: information, never a failure.
    Rule("SC001", "info", "{tool} is not installed ({install}); {skipped}", waivable=False),
    Rule("SC002", "warning", "{tool} could not run ({reason}); its checks were not run", waivable=False),
    # Dockerfile
    Rule("SC100", "error", "the Dockerfile does not parse: {reason}", waivable=False),
    Rule("SC101", "error", "the final stage must run as a numeric non-root USER: {problem}", waivable=True,
         replaces=("hadolint:DL3002", "hadolint:DL3066")),
    Rule("SC102", "error", "{instruction} in shell form runs under /bin/sh, which does not forward SIGTERM; "
         "use the JSON array form", waivable=True, replaces=("hadolint:DL3025",)),
    Rule("SC103", "error", "the HEALTHCHECK cannot run in the final image: {problem}", waivable=True),
    Rule("SC104", "error", "FROM {image}: {problem}", waivable=True, replaces=("hadolint:DL3006", "hadolint:DL3007")),
    # .dockerignore
    Rule("SC200", "error", "missing: the whole folder, secrets included, is sent to the build", waivable=True),
    Rule("SC201", "error", "does not exclude {missing}; add target, **/target/release, **/.git, **/.env", waivable=True),
    Rule("SC202", "error", "excludes {excluded}, which the build reads ({how} at {at}); "
         "add `!{excluded}` after the patterns that exclude it", waivable=True),
    # compose
    Rule("SC300", "error", "not a compose file: {reason}", waivable=False),
    Rule("SC301", "error", "service {service}: privileged: true gives the container the whole host", waivable=True),
    Rule("SC302", "error", "service {service}: add security_opt: [\"no-new-privileges:true\"]", waivable=True),
    Rule("SC303", "error", "service {service}: add cap_drop: [ALL] (and cap_add only what the app needs)", waivable=True),
    Rule("SC304", "error", "service {service}: {problem}", waivable=True),
    Rule("SC305", "error", "service {service}: port {port} is published {where}; bind it: {fix}", waivable=True),
    Rule("SC306", "error", "service {service}: {key} holds a literal value; pass secrets with `secrets:` or "
         "${{{key}}} from the environment", waivable=True),
    Rule("SC307", "warning", "`version:` is obsolete in Compose v2; remove it", waivable=True),
    Rule("SC308", "error", "service {service}: container_name fixes the name, so a second copy of the stack "
         "cannot start; remove it", waivable=True),
    Rule("SC309", "error", "service {service}: {problem}", waivable=True),
    # Kubernetes manifests
    Rule("SC400", "error", "not a Kubernetes manifest: {reason}", waivable=False),
    Rule("SC401", "error", "{what}: {field} is {value!r}; Kubernetes accepts only {allowed} (the schemas do not check it)",
         waivable=False),
    Rule("SC402", "warning", "{what}: podManagementPolicy is OrderedReady with {replicas} replicas and a readiness probe: if "
         "readiness waits for quorum, pod 1 never becomes ready and the later pods are never created; set Parallel", waivable=True),
    Rule("SC403", "error", "{what} lets {down} of the {replicas} pods of StatefulSet {sts} be evicted at once; quorum needs "
         "{quorum}, so at most {most} may be down", waivable=True),
    Rule("SC404", "warning", "{what}: container {container}: the liveness probe {problem}; a liveness check that depends on "
         "the leader restarts healthy pods while there is none (restart storms): probe the process itself", waivable=True),
    Rule("SC405", "error", "{what}: {problem}", waivable=True),
    Rule("SC406", "warning", "{what}: the headless Service {service} lacks publishNotReadyAddresses: true, so peers cannot "
         "resolve pods that are not ready yet", waivable=True),
    Rule("SC407", "error", "{what}: selector {selector} does not select its pod template's labels {labels}", waivable=False),
    Rule("SC408", "warning", "{what}: selector {selector} selects no pod template in these files", waivable=True),
    Rule("SC409", "error", "duplicate key {key}: YAML keeps only the last value", waivable=False),
    Rule("SC410", "error", "{what}: env {variable} is one literal value for all {replicas} pods, but node ids must be "
         "distinct: derive it from the pod index (fieldRef metadata.labels['apps.kubernetes.io/pod-index'])", waivable=True),
    # Swarm stack files (docker stack deploy)
    Rule("SC500", "error", "not a stack file: {reason}", waivable=False),
    Rule("SC501", "error", "{problem}; docker stack deploy on Engine 20.10 needs version: \"3.x\"", waivable=False),
    Rule("SC502", "error", "service {service}: {key}: {why}", waivable=True),
    Rule("SC503", "warning", "service {service} has peers ({peers}) but no deploy.endpoint_mode: dnsrr; service VIPs did "
         "not route between peers on Engine 20.10 and drop idle long-lived connections", waivable=True),
    Rule("SC504", "error", "service {service}: port {port} goes through the ingress, which endpoint_mode: dnsrr cannot use; "
         "publish it with mode: host (the long syntax)", waivable=False),
    Rule("SC505", "error", "service {service}: config {config} {problem}; docker stack deploy refuses it (the stack loader "
         "does not check)", waivable=False),
    # External tools: one entry each; the finding's code says which of the tool's rules it is.
    Rule("hadolint", "warning", "{message}", waivable=True),
    Rule("compose", "error", "Compose v2 rejects it: {message}", waivable=False),
    Rule("kubernetes-validate", "error", "{message}", waivable=False),
    Rule("docker-stack", "error", "docker stack config rejects it: {message}", waivable=False),
)
RULES: dict[str, Rule] = {rule.code: rule for rule in _RULE_LIST}


def rule_of(code: str) -> Rule:
    """The registry entry a finding's code belongs to (KeyError for an unregistered code)."""
    return RULES[code.split(":", 1)[0]]


def finding(code: str, file: str, line: int | None = None, **fields: object) -> Finding:
    """A finding of one of our rules, at the rule's severity, its message filled from the rule's template."""
    rule = RULES[code]
    return Finding(file, line, code, rule.message.format(**fields), rule.severity)


def tool_finding(tool: str, code: str, file: str, line: int | None, level: Severity | None, message: str) -> Finding:
    """A tool's own finding `TOOL:CODE` at the tool's level (the tool's entry gives it when the level is unknown)."""
    rule = RULES[tool]
    return Finding(file, line, f"{tool}:{code}", rule.message.format(message=message), level or rule.severity)


def without_duplicates(findings: list[Finding]) -> list[Finding]:
    """Drop a tool's finding where one of our rules that replaces it reports the same file and line."""
    replaced = {(f.file, f.line, code) for f in findings for code in rule_of(f.rule).replaces}
    return [f for f in findings if (f.file, f.line, f.rule) not in replaced]
