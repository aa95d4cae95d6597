"""lint_rules.py - house rules of the shipped alerts that promtool does not check.

usage: lint_rules.py RULES.yml TESTS.yml
Every alert: a `for:` of at least one minute (no alert on one scrape), a
severity label `page` or `ticket`, a summary and a description that points
to pricecached(8); and in the unit tests at least one evaluation where it
fires (exp_alerts not empty) and one where it must not (exp_alerts empty).
The unit tests name every group in group_eval_order, in the rule file's
order: without it promtool evaluates the groups in a random order and an
alert reading a recording rule starts its `for:` a minute late now and then.
Prints each problem and exits 1 if there is any.
"""
import re
import sys

import yaml


def seconds(d):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total = 0.0
    for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", d or ""):
        total += int(n) * units[u]
    return total


def main():
    rules_path, tests_path = sys.argv[1], sys.argv[2]
    with open(rules_path) as f:
        rules = yaml.safe_load(f)
    with open(tests_path) as f:
        tests = yaml.safe_load(f)
    problems = []
    alerts = []
    for g in rules["groups"]:
        for r in g["rules"]:
            if "alert" not in r:
                continue
            name = r["alert"]
            alerts.append(name)
            if seconds(r.get("for")) < 60:
                problems.append(f"{name}: `for:` is {r.get('for')!r}, under a minute")
            sev = r.get("labels", {}).get("severity")
            if sev not in ("page", "ticket"):
                problems.append(f"{name}: severity {sev!r}, not page or ticket")
            ann = r.get("annotations", {})
            for a in ("summary", "description"):
                if not ann.get(a):
                    problems.append(f"{name}: no {a}")
            if "pricecached(8)" not in ann.get("description", ""):
                problems.append(f"{name}: the description does not point to pricecached(8)")
    groups = [g["name"] for g in rules["groups"]]
    if tests.get("group_eval_order") != groups:
        problems.append(f"the unit tests' group_eval_order is {tests.get('group_eval_order')!r}, "
                        f"not the rule file's groups in order {groups!r}")
    if len(set(alerts)) != len(alerts):
        problems.append("an alert name is used twice")
    fires, quiet = set(), set()
    for t in tests.get("tests", []):
        for a in t.get("alert_rule_test", []) or []:
            (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
    for name in alerts:
        if name not in fires:
            problems.append(f"{name}: no unit test where it fires")
        if name not in quiet:
            problems.append(f"{name}: no unit test where it must not fire")
    for name in sorted((fires | quiet) - set(alerts)):
        problems.append(f"{name}: tested but not defined")
    for p in problems:
        print(f"lint_rules: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"lint_rules: {len(alerts)} alerts, each with a for:, a severity, "
          "annotations, a firing and a quiet unit test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
