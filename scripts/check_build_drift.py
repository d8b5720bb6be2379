#!/usr/bin/env python3
"""Fails when CMake and Bazel build different things.

Compares, between the two builds of this repository:
  - the C++ sources compiled (CMake: build/compile_commands.json;
    Bazel: the source files that //... depends on),
  - the .proto files compiled (CMake: build.ninja; Bazel: the same query),
  - the tests (CMake: ctest's list, by executable name; Bazel: tests(//...),
    by target name).
Usage: check_build_drift.py [CMAKE_BUILD_DIR]   (default: build)
Exit 0 when they agree, 1 with the differences listed otherwise.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_EXT = (".cc", ".proto")


def rel(path, base):
    path = os.path.normpath(os.path.join(base, path))
    return os.path.relpath(path, ROOT)


def in_tree(path):
    return not path.startswith("..") and not path.startswith("build")


def cmake_sources(build):
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    cc = {rel(e["file"], e["directory"]) for e in entries}
    with open(os.path.join(build, "build.ninja")) as f:
        ninja = f.read()
    protos = set()
    for m in re.finditer(r"(\S+\.proto)\b", ninja):
        p = m.group(1).replace("$:", ":")
        p = rel(p, build)
        if os.path.isfile(os.path.join(ROOT, p)):
            protos.add(p)
    return {p for p in cc | protos if in_tree(p) and p.endswith(SOURCE_EXT)}


def cmake_tests(build):
    out = subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"],
                         check=True, capture_output=True, text=True).stdout
    names = set()
    for t in json.loads(out)["tests"]:
        command = t["command"]
        name = os.path.basename(command[0])
        if name.startswith("python") and len(command) > 1:
            name = os.path.basename(command[1])
        # A script test is named by its file without the extension.
        if name.endswith((".py", ".sh")):
            name = os.path.splitext(name)[0]
        names.add(name)
    return names


def bazel(*args):
    return subprocess.run(["bazel", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.split()


def bazel_sources():
    labels = bazel("query", "--noshow_progress",
                   'kind("source file", deps(//...))')
    files = set()
    for label in labels:
        if not label.startswith("//"):
            continue  # @system, @bazel_tools...
        pkg, _, name = label[2:].partition(":")
        files.add(os.path.join(pkg, name))
    return {f for f in files if f.endswith(SOURCE_EXT)}


def bazel_tests():
    # lr_pg_test wraps NAME_bin in an sh_test NAME: name the test by NAME.
    return {label.rpartition(":")[2] for label in
            bazel("query", "--noshow_progress", "tests(//...)")}


def report(kind, cmake, bzl):
    problems = 0
    for name in sorted(cmake - bzl):
        print(f"drift: {kind} {name} is built by CMake but not by Bazel")
        problems += 1
    for name in sorted(bzl - cmake):
        print(f"drift: {kind} {name} is built by Bazel but not by CMake")
        problems += 1
    return problems


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                            os.path.join(ROOT, "build"))
    problems = report("source", cmake_sources(build), bazel_sources())
    problems += report("test", cmake_tests(build), bazel_tests())
    if problems:
        print(f"{problems} difference(s) between CMake and Bazel; "
              "add the file or test to the other build")
        return 1
    print("CMake and Bazel build the same sources, protos and tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
