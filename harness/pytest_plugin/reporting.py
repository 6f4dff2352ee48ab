"""Case metadata -> markers, skips and Allure labels; evidence -> Allure attachments.

A suite function decorated with `harness.conformance.case` gets:
- a ``requirement`` marker per requirement ID (``-m`` can select on them),
- Allure labels: ``requirement`` per ID, ``feature`` = requirement area,
  ``story`` = the case title, ``tag`` = media mode; the expectation in words as
  description; a link to the seed/RFC reference,
- a skip, with the reason, when the target does not claim the case's media mode
  or anchored feature (UNSUPPORTED: never silently passed),
- the graded verdict (`graded_verdict`) as the Allure label ``verdict``, and the
  case's findings (kept by ``judge`` in the item's stash) as an attachment.
"""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import allure
import pytest

from harness import __version__
from harness.conformance.case import REQUIREMENT_VERDICT_LABEL, VERDICT_LABEL, Case, Verdict
from harness.conformance.findings import Finding
from harness.conformance.references import reference_links
from harness.errors import TargetViolation
from harness.evidence.preconditions import PreconditionUnmet
from harness.paths import REPORTS
from harness.pytest_plugin.fixtures import HARNESS_RUN_KEY, loaded_target
from harness.pytest_plugin.options import CONFIG_KEY
from harness.pytest_plugin.verdicts import (
    COUNTED_AT_KEY,
    DEVIATIONS_KEY,
    FINDINGS_KEY,
    INCONCLUSIVE_PREFIX,
    JUDGED_KEY,
    UNMET_KEY,
    Declared,
    case_of,
    graded_by_findings,
)

AREAS = MappingProxyType({
    "MM": "Media handling modes",
    "SIP": "SIP call flows",
    "DR": "Teams Direct Routing",
    "SFB": "SfB / Cloud Connector",
    "KZ": "Kazoo policies",
    "ROB": "Robustness",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cases = [(item, case_of(item)) for item in items]
    if not any(meta for _, meta in cases):
        return
    wanted = set(config.getoption("--requirement", default=[]) or [])
    if wanted:
        known = {rid for _, meta in cases if meta for rid in meta.requirements}
        unknown = sorted(wanted - known)
        if unknown:
            raise pytest.UsageError(
                f"--requirement {', '.join(unknown)}: no case checks it (cases check: "
                f"{', '.join(sorted(known))})"
            )
        keep = [item for item, meta in cases if meta and wanted & set(meta.requirements)]
        dropped = [item for item in items if item not in keep]
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        cases = [(item, case_of(item)) for item in items]
    hc = loaded_target(config)
    assert hc.loaded is not None
    spec = hc.loaded.spec
    for item, meta in cases:
        if meta is None:
            continue
        for rid in meta.requirements:
            item.add_marker(pytest.mark.requirement(rid))
        _mark_for_allure(item, meta)
        reason = None
        if meta.mode is not None and not spec.claims(meta.mode):
            reason = (
                f"UNSUPPORTED: target {spec.target.name} does not claim media mode "
                f"{meta.mode.value!r} (capabilities.media_modes in {hc.loaded.path})"
            )
        for feature in meta.features:
            if reason is None and not spec.claims_feature(feature):
                reason = (
                    f"UNSUPPORTED: target {spec.target.name} does not claim anchored feature "
                    f"{feature.value!r} (capabilities.anchored_features in {hc.loaded.path})"
                )
        if reason is None and meta.profile and getattr(spec, meta.profile, None) is None:
            reason = (f"UNSUPPORTED: target {spec.target.name} declares no "
                      f"{meta.profile.replace('_', ' ')} profile (no [{meta.profile}] in "
                      f"{hc.loaded.path})")
        if reason is None and meta.forking and spec.forking is None:
            reason = (f"UNSUPPORTED: target {spec.target.name} declares no way to fork a call "
                      f"(no [forking] table in {hc.loaded.path})")
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
            continue
        name = getattr(item, "originalname", item.name)
        item.stash[DEVIATIONS_KEY] = tuple(
            Declared(deviation, f"KNOWN DEVIATION of {spec.target.name} "
                                f"({deviation.requirement}, declared in {hc.loaded.path}): "
                                f"{deviation.note}")
            for deviation in spec.known_deviations
            if any(deviation.covers(rid, meta.mode, forking=meta.forking, case=name)
                   for rid in meta.requirements))


def _mark_for_allure(item: pytest.Item, meta: Case) -> None:
    """Labels, description and links as markers, so that a case skipped at collection
    (UNSUPPORTED) carries them too; allure-pytest reads these markers."""
    label, link = pytest.mark.allure_label, pytest.mark.allure_link
    for rid in meta.requirements:
        item.add_marker(label(rid, label_type="requirement"))
    for area in dict.fromkeys(AREAS.get(rid.split("-")[0], "Other") for rid in meta.requirements):
        item.add_marker(label(area, label_type="feature"))
    item.add_marker(label(meta.title, label_type="story"))
    if meta.mode is not None:
        item.add_marker(label(meta.mode.value, label_type="tag"))
    item.add_marker(label(meta.reference, label_type="reference"))
    for name, url in reference_links(meta.reference):
        item.add_marker(link(url, name=name, link_type="link"))
    # allure-pytest takes the description from this marker (else the docstring).
    item.add_marker(pytest.mark.allure_description(
        f"Expectation: {meta.expectation}\n\nReference: {meta.reference}"
    ))


def graded_verdict(
    meta: Case, report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None,
    findings: Sequence[Finding] = (),
) -> Verdict:
    """The case's graded verdict (Autobahn style) from its outcome and, for a case that
    passed, its findings (a NON-STRICT one makes it NON-STRICT)."""
    if hasattr(report, "wasxfail"):
        # A declared deviation that showed up, or did not (the target was fixed).
        if report.skipped:
            return Verdict.KNOWN_DEVIATION
        return graded_by_findings(findings) or Verdict.OK
    if report.skipped:
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        if reason.removeprefix("Skipped: ").startswith(INCONCLUSIVE_PREFIX):
            return Verdict.INCONCLUSIVE
        return Verdict.UNSUPPORTED if Verdict.UNSUPPORTED.value in reason else Verdict.SKIPPED
    if report.failed:
        violated = excinfo is not None and isinstance(excinfo.value, TargetViolation)
        return Verdict.FAILED if violated else Verdict.BROKEN
    return graded_by_findings(findings) or (
        Verdict.INFORMATIONAL if meta.informational else Verdict.OK)


def counted_at(meta: Case, exc: BaseException) -> list[str]:
    """The requirements of a case that failed on a precondition it does not declare, when
    only some of its requirements judge that precondition: its failure is counted there,
    and its other requirements were not observed (the matrix shows them INCONCLUSIVE)."""
    if not isinstance(exc, PreconditionUnmet):
        return []
    own = [rid for rid in meta.requirements if rid in exc.precondition.counted_at]
    return own if len(own) < len(meta.requirements) else []


def _label_where_counted(item: pytest.Item, meta: Case, exc: BaseException) -> None:
    """A FAILED case whose failure counts elsewhere than at all its requirements names the
    requirements it counts at and its verdict on each of its own (REQUIREMENT_VERDICT_LABEL)."""
    counted = item.stash.get(COUNTED_AT_KEY, ()) or tuple(counted_at(meta, exc))
    if not counted:
        return
    judged = item.stash.get(JUDGED_KEY, {})
    for rid in counted:
        if rid not in meta.requirements:
            allure.dynamic.label("requirement", rid)
    for rid in meta.requirements:
        if rid not in counted:
            verdict = judged.get(rid, Verdict.INCONCLUSIVE)
            allure.dynamic.label(REQUIREMENT_VERDICT_LABEL, f"{rid}={verdict.value}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    meta = case_of(item)
    findings = item.stash.get(FINDINGS_KEY, [])
    if meta is not None and (report.when == "call" or not report.passed):
        verdict = graded_verdict(meta, report, call.excinfo, findings)
        allure.dynamic.label(VERDICT_LABEL, verdict.value)
        if verdict is Verdict.FAILED and call.excinfo is not None:
            _label_where_counted(item, meta, call.excinfo.value)
    if report.when == "call" and findings and meta is not None:
        allure.attach(
            "\n\n".join([f"Findings of the case judging {', '.join(meta.requirements)}:",
                          *(str(f) for f in findings)]),
            name="findings", attachment_type=allure.attachment_type.TEXT,
        )
    unmet = item.stash.get(UNMET_KEY, None)
    if report.when == "call" and report.skipped and unmet is not None and unmet.evidence:
        data = unmet.evidence if isinstance(unmet.evidence, bytes) else unmet.evidence.encode()
        allure.attach(data, name="evidence: the unmet precondition",
                      attachment_type=allure.attachment_type.TEXT)
    if report.when == "call" and report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        if isinstance(exc, TargetViolation) and exc.evidence is not None:
            data = exc.evidence if isinstance(exc.evidence, bytes) else exc.evidence.encode()
            allure.attach(data, name="evidence: what the target sent",
                          attachment_type=allure.attachment_type.TEXT)
    if report.when == "call" and report.failed and meta is not None:
        for name, text in item.stash.get(LOG_TAIL_KEY, {}).items():
            allure.attach(
                text, name=f"target log: {name}", attachment_type=allure.attachment_type.TEXT
            )


LOG_TAIL_KEY = pytest.StashKey[dict[str, str]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    alluredir = session.config.getoption("--alluredir", default=None)
    if not alluredir or CONFIG_KEY not in session.config.stash:
        return
    hc = session.config.stash[CONFIG_KEY]
    if hc.loaded is None and not session.config.stash.get(HARNESS_RUN_KEY, False):
        return  # a run of something else (the harness's own unit tests): not ours to label
    out = Path(alluredir)
    out.mkdir(parents=True, exist_ok=True)
    categories = REPORTS / "categories.json"
    if categories.is_file():
        shutil.copy(categories, out / "categories.json")
    env = {
        "run.finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "harness.version": __version__,
        "host": platform.node(),
        "python": platform.python_version(),
        "backend": hc.backend,
    }
    if hc.loaded is not None:
        spec = hc.loaded.spec
        env |= {
            "target.name": spec.target.name,
            "target.version": spec.target.version,
            "target.file": str(hc.loaded.path),
            "target.media_modes": ",".join(m.value for m in spec.capabilities.media_modes),
            "target.anchored_features": ",".join(
                f.value for f in spec.capabilities.anchored_features
            ),
        }
    if hc.loaded is not None:
        # What the target declared, for the requirement matrix (harness.report).
        declared = hc.loaded.spec.model_dump(
            mode="json", include={"target", "capabilities", "known_deviations", "forking"})
        hc.results_dir.mkdir(parents=True, exist_ok=True)
        (hc.results_dir / "target.json").write_text(json.dumps(declared, indent=2))
    (out / "environment.properties").write_text(
        "".join(f"{k}={v}\n" for k, v in env.items())
    )
    (out / "executor.json").write_text(
        json.dumps({"name": "sbc-harness", "type": "sbc-harness", "buildName": __version__})
    )
