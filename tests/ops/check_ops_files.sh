#!/usr/bin/env bash
# Bazel runs check_ops_files.py (the CTest ops.ops_files_test) from the
# runfiles tree, which mirrors the repository's layout.
exec /usr/bin/python3 tests/ops/check_ops_files.py "$PWD"
