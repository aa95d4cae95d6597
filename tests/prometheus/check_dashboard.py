"""check_dashboard.py - the shipped Grafana dashboard asks only what Prometheus can answer.

usage: check_dashboard.py DASHBOARD.json RULES.yml EXPORTED PENDING

EXPORTED: the `# TYPE NAME TYPE` lines of a running daemon's /metrics (the
truth of what it exports, whatever the layout of daemon/). PENDING: metric
names issue 13 will add (tests/prometheus/metrics-issue13.txt), one a line.

Checks:
- a `datasource` variable of type datasource, and a `chain` variable;
  every panel and every query uses the datasource variable;
- every PromQL expression (panel targets, and the selector inside each
  variable's label_values()) parses: each, with the Grafana variables
  replaced ($__rate_interval by 5m, a $variable by .*), becomes a recording
  rule of a generated file that `promtool check rules` must accept;
- every metric an expression names, in the dashboard and in RULES, is
  exported by the daemon (a histogram's _bucket, _sum and _count too), or
  listed in PENDING, or recorded by RULES, or Prometheus's own `up`.
Prints each problem and exits 1 if there is any.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
            "and", "or", "unless", "offset", "inf", "nan", "atan2"}
DURATIONS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}


def substitute(expr):
    """Grafana's variables replaced by values PromQL accepts."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return DURATIONS.get(name, ".*")
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", repl, expr)


def metric_names(expr):
    """The metric names a PromQL expression selects (regex-based: strings,
    label matchers, grouping clauses, ranges and numbers removed first)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"(?<![\w:])\d+(\.\d+)?([eE][+-]?\d+)?", " ", s)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        word = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS:
            continue  # a function or an operator
        names.add(word)
    return names


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def main():
    dash_path, rules_path, exported_path, pending_path = sys.argv[1:5]
    problems = []
    with open(dash_path) as f:
        dash = json.load(f)
    with open(rules_path) as f:
        rules = yaml.safe_load(f)

    known = {"up"}
    with open(exported_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and parts[:2] == ["#", "TYPE"]:
                name, kind = parts[2], parts[3]
                known.add(name)
                if kind in ("histogram", "summary"):
                    known |= {name + "_bucket", name + "_sum", name + "_count"}
    exported = set(known)
    pending = set()
    with open(pending_path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                pending.add(line)
    known |= pending
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    known |= recorded
    if len(exported) < 10:
        problems.append(f"{exported_path}: only {len(exported)} metric names: not a daemon's /metrics?")

    # Variables.
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no variable `datasource` of type datasource (prometheus)")
    if "chain" not in variables or variables["chain"].get("type") != "query":
        problems.append("no query variable `chain`")

    exprs = []  # (where, expr)
    for v in variables.values():
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", q or "")
        if not m:
            problems.append(f"variable {v['name']}: not label_values(SELECTOR, LABEL): {q!r}")
            continue
        exprs.append((f"variable {v['name']}", m.group(1)))
        if (v.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"variable {v['name']}: datasource is not ${{datasource}}")
    for p in walk_panels(dash.get("panels", [])):
        if p.get("type") == "row":
            continue
        title = p.get("title", "?")
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"panel {title!r}: datasource is not ${{datasource}}")
        if not p.get("targets"):
            problems.append(f"panel {title!r}: no query")
        for t in p.get("targets", []):
            if (t.get("datasource") or {}).get("uid") != "${datasource}":
                problems.append(f"panel {title!r} query {t.get('refId')}: datasource is not ${{datasource}}")
            if not t.get("expr"):
                problems.append(f"panel {title!r} query {t.get('refId')}: no expr")
                continue
            exprs.append((f"panel {title!r} query {t.get('refId')}", t["expr"]))

    # Every expression parses: promtool check rules on a generated file.
    gen = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard_expr_{i}", "expr": substitute(e)} for i, (_, e) in enumerate(exprs)]}]}
    fd, tmp = tempfile.mkstemp(suffix=".yml")
    try:
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(gen, f)
        r = subprocess.run(["promtool", "check", "rules", tmp], capture_output=True, text=True)
        if r.returncode != 0:
            out = r.stdout + r.stderr
            problems.append("promtool check rules of the dashboard's expressions failed:\n" + out)
            for i, (where, e) in enumerate(exprs):
                if f'"dashboard_expr_{i}"' in out:
                    problems.append(f"  dashboard_expr_{i} is {where}: {e}")
    finally:
        os.unlink(tmp)

    # Every metric named exists.
    rule_exprs = [(f"rule {r.get('alert') or r.get('record')}", r["expr"])
                  for g in rules["groups"] for r in g["rules"]]
    used = set()
    for where, e in exprs + rule_exprs:
        for name in metric_names(substitute(e)):
            used.add(name)
            if name not in known:
                problems.append(f"{where}: metric {name} is neither exported by the daemon, "
                                f"nor listed in {os.path.basename(pending_path)}, nor recorded")
    for name in sorted(pending & exported):
        print(f"check_dashboard: note: {name} is exported now; "
              f"it may leave {os.path.basename(pending_path)}")
    for p in problems:
        print(f"check_dashboard: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_dashboard: {len(exprs)} dashboard expressions parse; {len(used)} metric names, "
          f"all exported ({len(used & exported)}), pending issue 13 ({len((used & pending) - exported)}) "
          f"or recorded ({len(used & recorded)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
