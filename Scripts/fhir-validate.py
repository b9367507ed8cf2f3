#!/usr/bin/env python3
"""Validates Tiaki's FHIR output against the FHIR R4 models of PyPI's fhir.resources (its R4B package: the
Consent, CodeSystem and Bundle resources are the same as R4 4.0.1's).

Usage: fhir-validate.py FILE [FILE ...]   (a Bundle, a Consent or a CodeSystem each; - for standard input)

Every resource is parsed by its model (types, cardinalities, required elements, choice types, primitive
patterns); then the invariants the models do not check and Tiaki relies on are checked here: ppc-1 (a policy
or a policyRule), ppc-2 (patient-privacy scope needs a patient), dom-3 (every contained resource is referenced),
ext-1 (an extension has a value or extensions, not both), and the required bindings of status,
provision.type, content and Bundle.type. Prints one line per file; exits 1 on any failure.
"""
import json
import sys

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.consent import Consent

MODELS = {"Bundle": Bundle, "Consent": Consent, "CodeSystem": CodeSystem}

# Required bindings, which the models leave to the caller: path → the codes R4 allows.
REQUIRED_CODES = {
    "Consent": {
        ("status",): {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"},
        ("provision", "type"): {"deny", "permit"},
    },
    "CodeSystem": {
        ("status",): {"draft", "active", "retired", "unknown"},
        ("content",): {"not-present", "example", "fragment", "complete", "supplement"},
    },
    "Bundle": {
        ("type",): {"document", "message", "transaction", "transaction-response", "batch", "batch-response",
                    "history", "searchset", "collection"},
    },
}


def bindings_ok(resource):
    problems = []
    kind = resource.get("resourceType")
    for path, allowed in REQUIRED_CODES.get(kind, {}).items():
        value = resource
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and value not in allowed:
            problems.append(f"{kind}/{resource.get('id', '?')}: {'.'.join(path)} {value!r} is not one of R4's codes")
    return problems


def extensions_ok(value, where):
    problems = []
    if isinstance(value, dict):
        for ext in value.get("extension", []) + value.get("modifierExtension", []):
            values = [k for k in ext if k.startswith("value")]
            nested = ext.get("extension", [])
            if bool(values) == bool(nested):
                problems.append(f"{where}: extension {ext.get('url')} must have a value or extensions, not both (ext-1)")
        for key, child in value.items():
            problems += extensions_ok(child, f"{where}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            problems += extensions_ok(child, f"{where}[{i}]")
    return problems


def consent_invariants(resource):
    problems = []
    rid = resource.get("id", "?")
    if not resource.get("policy") and not resource.get("policyRule"):
        problems.append(f"Consent/{rid}: neither policy nor policyRule (ppc-1)")
    scopes = [c.get("code") for c in resource.get("scope", {}).get("coding", [])]
    if "patient-privacy" in scopes and not resource.get("patient"):
        problems.append(f"Consent/{rid}: patient-privacy without a patient (ppc-2)")
    text = json.dumps(resource)
    for contained in resource.get("contained", []):
        if f'"#{contained.get("id")}"' not in text:
            problems.append(f"Consent/{rid}: contained {contained.get('id')} is not referenced (dom-3)")
    return problems


def check(resource):
    kind = resource.get("resourceType")
    model = MODELS.get(kind)
    if model is None:
        return [f"unexpected resourceType {kind!r}"], {}
    model.model_validate(resource)
    counts = {kind: 1}
    problems = extensions_ok(resource, kind) + bindings_ok(resource)
    if kind == "Consent":
        problems += consent_invariants(resource)
    if kind == "Bundle":
        for entry in resource.get("entry", []):
            inner, inner_counts = check(entry["resource"])
            problems += inner
            for k, v in inner_counts.items():
                counts[k] = counts.get(k, 0) + v
    return problems, counts


def main(paths):
    failed = False
    for path in paths:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        try:
            problems, counts = check(json.loads(text))
        except Exception as error:  # a model's validation error names the element
            problems, counts = [str(error)], {}
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        if problems:
            failed = True
            print(f"{path}: INVALID ({summary})")
            for p in problems[:20]:
                print("  " + p)
        else:
            print(f"{path}: valid FHIR R4 ({summary})")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
