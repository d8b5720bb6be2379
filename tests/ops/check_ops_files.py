#!/usr/bin/python3
"""Checks scripts/ops/alerts.yml and scripts/ops/grafana-dashboard.json.

Both must parse, have the expected shape, and reference only metrics the
server defines (names found as string literals in server/ops/*.cc). The
alert file must hold the three alerts the runbook promises.
Usage: check_ops_files.py REPO_ROOT
"""
import glob
import json
import os
import re
import sys

import yaml

METRIC = re.compile(r"\b((?:leadrelay|process)_[a-z_]+)\b")
SUFFIXES = ("_bucket", "_sum", "_count")


def defined_metrics(root):
    names = set()
    for path in glob.glob(os.path.join(root, "server/ops/*.cc")):
        with open(path) as f:
            names.update(re.findall(r'"((?:leadrelay|process)_[a-z_]+)"', f.read()))
    return names


def referenced(expr):
    out = set()
    for name in METRIC.findall(expr):
        for suffix in SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
        out.add(name)
    return out


def main(root):
    errors = []
    defined = defined_metrics(root)
    if len(defined) < 20:
        errors.append(f"found only {len(defined)} metric names in server/ops")

    with open(os.path.join(root, "scripts/ops/alerts.yml")) as f:
        alerts = yaml.safe_load(f)
    rules = [r for g in alerts["groups"] for r in g["rules"]]
    for rule in rules:
        for key in ("alert", "expr", "labels", "annotations"):
            if key not in rule:
                errors.append(f"rule {rule.get('alert')} lacks {key}")
        if "severity" not in rule.get("labels", {}):
            errors.append(f"rule {rule.get('alert')} lacks a severity")
        for name in referenced(rule.get("expr", "")) - defined:
            errors.append(f"alert {rule.get('alert')} uses unknown metric {name}")
    exprs = {r["alert"]: r["expr"] for r in rules}
    backlog = [e for e in exprs.values()
               if "leadrelay_delivery_oldest_due_age_seconds" in e]
    if not any(re.search(r">\s*300\b", e) for e in backlog):
        errors.append("no alert on a backlog older than 5 minutes (300 s)")
    if not any("leadrelay_delivery_attempts_total" in e for e in exprs.values()):
        errors.append("no alert on the endpoint failure rate")
    if not any("leadrelay_database_up" in e for e in exprs.values()):
        errors.append("no alert on the database being unavailable")

    with open(os.path.join(root, "scripts/ops/grafana-dashboard.json")) as f:
        dashboard = json.load(f)
    targets = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    if len(targets) < 10:
        errors.append("the dashboard has fewer than 10 queries")
    for expr in targets:
        for name in referenced(expr) - defined:
            errors.append(f"dashboard uses unknown metric {name}")

    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(rules)} alert rules, {len(targets)} dashboard queries, "
          f"{len(defined)} metrics defined; {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
