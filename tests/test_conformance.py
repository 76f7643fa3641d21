"""The official MCP conformance suite (tests/node: @modelcontextprotocol/conformance) against /mcp of a real server,
for each protocol revision it knows, each run at its own wire: 2025-11-25 with the initialize handshake and sessions,
2026-07-28 sessionless. Every scenario about protocol behaviour passes. Those that need the suite's own fixture
tools, resources and prompts cannot pass here: they are listed below with the reason, and the list is checked
against the suite so that it stays honest."""

import json
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.node_tools import installed, node
from tests.servers import Served

REVISIONS = ("2025-11-25", "2026-07-28")
SUITE = "@modelcontextprotocol/conformance/dist/index.js"
PLANNED = re.compile(r"^Running requirements \S+ \((\d+) scenarios\)", re.MULTILINE)
ANNOUNCED = re.compile(r"^=== Running scenario: (\S+) ===$", re.MULTILINE)
RESULTS = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$")  # a scenario's folder
TASKS = "the tasks extension (SEP-2663: optional, run but never scored), which this server does not offer"
BY_ACCIDENT = "it passes today only because fastmcp answers an unknown tool with an ordinary isError result"
NO_SUBSCRIBE = "this server declares resources.subscribe false (optional), so -32601 is the spec's answer"


def fixture(what: str, note: str = "") -> str:
    """Why a scenario cannot pass here: it exercises `what` of the suite's own test server, not anything of ours."""
    return f"needs the suite's fixture {what}, which this server does not have" + (f"; {note}" if note else "")


def tasks(*tools: str) -> str:
    """Why a scenario of the optional tasks extension cannot pass here."""
    return f"{TASKS}, exercised through the suite's fixture tools {', '.join(tools)}"


# Scenarios ("scenario") or single checks of otherwise binding scenarios ("scenario:check", as the suite's own
# expected-failures files name them) that need what only the suite's test server has, and why.
NEEDS_FIXTURES = {
    "tools-call-simple-text": fixture("tool test_simple_text", BY_ACCIDENT),
    "tools-call-image": fixture("tool test_image_content"),
    "tools-call-audio": fixture("tool test_audio_content"),
    "tools-call-embedded-resource": fixture("tool test_embedded_resource"),
    "tools-call-mixed-content": fixture("tool test_multiple_content_types"),
    "tools-call-with-logging": fixture("tool test_tool_with_logging"),
    "tools-call-error": fixture("tool test_error_handling", BY_ACCIDENT),
    "tools-call-with-progress": fixture("tool test_tool_with_progress"),
    "tools-call-sampling": fixture("tool test_sampling"),
    "tools-call-elicitation": fixture("tool test_elicitation"),
    "elicitation-sep1034-defaults": fixture("tool test_elicitation_sep1034_defaults"),
    "elicitation-sep1330-enums": fixture("tool test_elicitation_sep1330_enums"),
    "json-schema-2020-12": fixture("tool json_schema_2020_12_tool"),
    "server-sse-polling": fixture("tool test_reconnection, which closes its response stream mid-call"),
    "resources-read-text": fixture("resource test://static-text"),
    "resources-read-binary": fixture("resource test://static-binary"),
    "resources-templates-read": fixture("resource template test://template/{id}/data"),
    "resources-subscribe": fixture("resource test://watched-resource", NO_SUBSCRIBE),
    "resources-unsubscribe": fixture("resource test://watched-resource", NO_SUBSCRIBE),
    "prompts-get-simple": fixture("prompt test_simple_prompt"),
    "prompts-get-with-args": fixture("prompt test_prompt_with_arguments"),
    "prompts-get-embedded-resource": fixture("prompt test_prompt_with_embedded_resource"),
    "prompts-get-with-image": fixture("prompt test_prompt_with_image"),
    "completion-complete": fixture(
        "prompt test_prompt_with_arguments, whose argument it completes",
        "this server has no prompts and declares no completions, so -32601 is the spec's answer",
    ),
    "http-custom-header-server-validation": fixture(
        "of a tool whose parameters are marked x-mcp-header (SEP-2243 custom headers)",
        "no tool of ours marks one, so each of its checks reports itself not testable",
    ),
    "server-stateless:sep-2575-server-rejects-undeclared-capability": fixture("tool test_missing_capability"),
    "server-stateless:sep-2575-missing-capability-http-400": fixture("tool test_missing_capability"),
    "input-required-result-basic-elicitation": fixture("tool test_input_required_result_elicitation"),
    "input-required-result-basic-sampling": fixture("tool test_input_required_result_sampling"),
    "input-required-result-basic-list-roots": fixture("tool test_input_required_result_list_roots"),
    "input-required-result-request-state": fixture("tool test_input_required_result_request_state"),
    "input-required-result-multiple-input-requests": fixture("tool test_input_required_result_multiple_inputs"),
    "input-required-result-multi-round": fixture("tool test_input_required_result_multi_round"),
    "input-required-result-missing-input-response": fixture("tool test_input_required_result_elicitation", BY_ACCIDENT),
    "input-required-result-non-tool-request": fixture("prompt test_input_required_result_prompt"),
    "input-required-result-result-type": fixture("tool test_input_required_result_elicitation"),
    "input-required-result-tampered-state": fixture("tool test_input_required_result_tampered_state"),
    "input-required-result-capability-check": fixture("tool test_input_required_result_capabilities"),
    "input-required-result-ignore-extra-params": fixture("tool test_input_required_result_elicitation", BY_ACCIDENT),
    "input-required-result-validate-input": fixture("tool test_input_required_result_elicitation", BY_ACCIDENT),
    "tasks-lifecycle": tasks("greet", "slow_compute", "failing_job", "protocol_error_job"),
    "tasks-capability-negotiation": tasks("slow_compute"),
    "tasks-wire-fields": tasks("slow_compute"),
    "tasks-request-state-removal": tasks("slow_compute"),
    "tasks-mrtr-input": tasks("confirm_delete", "multi_input"),
    "tasks-request-headers": tasks("greet", "slow_compute"),
    "tasks-dispatch-and-envelope": tasks("greet", "slow_compute", "failing_job", "confirm_delete"),
    "tasks-required-task-error": tasks("failing_job"),
    "tasks-mrtr-composition": tasks("test_tool_with_task"),
    "tasks-status-notifications": f"{TASKS}; the suite skips its one check for now",
}


@dataclass(frozen=True)
class Run:
    """One run of the suite, with what it planned and announced: to tell a complete run from one that broke off."""

    exit_code: int
    output: str
    planned: int
    announced: list[str]
    checks: dict[str, list[dict]]


@pytest.fixture(scope="module")
def server():
    # The 2025-11-25 run opens 34 sessions within two seconds, past the 30 a minute one client may open
    # (RATE_LIMIT_SESSION). Nothing else it does nears a share: it leaves 11 of them open (64 may be), has at most
    # 3 requests under way at once (32 may be), and makes one room (20 a minute may be).
    served = Served("mcp_server.py", RATE_LIMIT_SESSION="0")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def suite(server, tmp_path_factory):
    """The suite's run for a revision, made once: both tests read the same runs."""
    return cache(lambda revision: run_suite(f"{server.url}/mcp", revision, tmp_path_factory.mktemp(revision)))


def run_suite(url: str, revision: str, folder: Path) -> Run:
    """Run the suite on `url` by requirement set, not by suite: each scenario then runs at `revision`'s own wire."""
    arguments = ["server", "--url", url, "--requirements", revision, "--output-dir", str(folder)]
    ran = node(
        str(installed() / SUITE), *arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300
    )
    planned = PLANNED.search(ran.stdout)
    checks = {
        RESULTS.match(found.name)["scenario"]: json.loads((found / "checks.json").read_text())
        for found in folder.iterdir()
    }
    announced = ANNOUNCED.findall(ran.stdout)
    return Run(ran.returncode, ran.stdout, int(planned[1]) if planned else -1, announced, checks)


def unexcused_failures(checks: dict[str, list[dict]]) -> dict[str, list[str]]:
    """The failed checks the fixture list does not account for, by scenario, with what the suite said about each."""
    unexcused = {}
    for scenario, results in checks.items():
        if scenario in NEEDS_FIXTURES:
            continue
        failed = [
            f"{check['id']}: {check.get('errorMessage')}"
            for check in results
            if check["status"] == "FAILURE" and f"{scenario}:{check['id']}" not in NEEDS_FIXTURES
        ]
        if failed:
            unexcused[scenario] = failed
    return unexcused


@pytest.mark.parametrize("revision", REVISIONS)
def test_every_scenario_about_protocol_behaviour_passes(suite, revision):
    run = suite(revision)
    assert run.exit_code in (0, 1), run.output  # 1: a required scenario failed, as the fixture ones do; else a crash
    assert len(run.announced) == run.planned, run.output
    assert sorted(run.checks) == sorted(run.announced), run.output  # each scenario wrote its checks: none broke off
    assert unexcused_failures(run.checks) == {}


def test_the_fixture_list_names_only_what_the_suite_has(suite):
    """An entry the suite no longer has would excuse nothing and tell a reader something false."""
    known = set()
    for revision in REVISIONS:
        for scenario, results in suite(revision).checks.items():
            known |= {scenario, *(f"{scenario}:{check['id']}" for check in results)}
    assert sorted(set(NEEDS_FIXTURES) - known) == []
