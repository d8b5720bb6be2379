#!/usr/bin/python3
"""Parses Prometheus text format (stdin) with prometheus_client's parser.

Prints one line per sample, `name{k="v",...} value` with labels sorted, then
one `# family <name> <type>` line per family; exits non-zero (with the
parser's message on stderr) when the text does not parse.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as error:  # the parser raises ValueError and friends
        print(f"parse error: {error}", file=sys.stderr)
        return 1
    for family in families:
        print(f"# family {family.name} {family.type}")
        for sample in family.samples:
            labels = ",".join(
                f"{k}={json.dumps(v)}" for k, v in sorted(sample.labels.items()))
            print(f"{sample.name}{{{labels}}} {sample.value!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
