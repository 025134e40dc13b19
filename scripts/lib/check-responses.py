#!/usr/bin/env python3
"""Validates recorded API responses against openapi/passerelle.yaml with jsonschema (an oracle independent of the
gateway's JSON writers): each *.json file in DIR is {"method", "path", "status", "contentType", "body"}; the
operation is found by matching the path against the document's templates (literal segments first), the response
by status (then "default"), and the body is validated against that response's schema for its media type, with the
document's components as the registry (OpenAPI 3.1 schemas are JSON Schema 2020-12).

Usage: check-responses.py OPENAPI.yaml DIR  -> prints one line per response; exit 1 on any mismatch.
"""
import json
import os
import re
import sys

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def operation_for(doc, method, path):
    best = None
    for template, item in doc.get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            score = template.count("{")
            if best is None or score < best[0]:
                best = (score, template, item[method.lower()])
    return best


def absolute_refs(node):
    """Rewrites every local "#/…" reference to "urn:openapi#/…", so inline schemas resolve against the document."""
    if isinstance(node, dict):
        return {k: ("urn:openapi" + v if k == "$ref" and isinstance(v, str) and v.startswith("#/") else absolute_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [absolute_refs(v) for v in node]
    return node


def main():
    spec_path, directory = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        doc = absolute_refs(yaml.safe_load(f))
    registry = Registry().with_resource("urn:openapi", Resource(contents=doc, specification=DRAFT202012))
    failures = 0
    checked = 0
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name)) as f:
            record = json.load(f)
        method, path, status = record["method"], record["path"], str(record["status"])
        label = f"{method} {path} {status}"
        found = operation_for(doc, method, path)
        if found is None:
            print(f"FAIL {label}: no operation in the document")
            failures += 1
            continue
        _, template, operation = found
        responses = operation.get("responses", {})
        response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
        if response is None:
            print(f"FAIL {label} ({template}): status not documented")
            failures += 1
            continue
        if "$ref" in response:
            response = registry.resolver().lookup(response["$ref"]).contents
        content = response.get("content", {})
        media = record.get("contentType", "").split(";")[0].strip()
        body = record.get("body")
        if not content:
            if body not in (None, ""):
                print(f"FAIL {label} ({template}): a body where the document declares none")
                failures += 1
            else:
                print(f"ok   {label} ({template}): no body")
            checked += 1
            continue
        if media not in content:
            print(f"FAIL {label} ({template}): content type {media!r} not in {sorted(content)}")
            failures += 1
            continue
        validator = Draft202012Validator(content[media].get("schema", {}), registry=registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        if errors:
            failures += 1
            for error in errors[:5]:
                where = "/".join(str(p) for p in error.path) or "(root)"
                print(f"FAIL {label} ({template}): {where}: {error.message[:300]}")
        else:
            print(f"ok   {label} ({template})")
        checked += 1
    print(f"{checked} responses checked, {failures} failing")
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
