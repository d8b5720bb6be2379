"""Tests that need PostgreSQL and leadrelay-server, like scripts/test gives
them: the test binary runs under //bazel:pg_test.sh."""

def lr_pg_test(name, srcs, deps, data = [], copts = [], size = "large", **kwargs):
    native.cc_binary(
        name = name + "_bin",
        srcs = srcs,
        deps = deps,
        copts = copts,
        testonly = True,
    )
    native.sh_test(
        name = name,
        size = size,
        srcs = ["//bazel:pg_test.sh"],
        args = ["$(location :%s_bin)" % name],
        data = [
            ":%s_bin" % name,
            "//scripts:lib.sh",
            "//server:leadrelay-server",
        ] + data,
        # PostgreSQL runs as the postgres user and binds loopback ports:
        # outside Bazel's sandbox, as under scripts/test.
        tags = ["local"],
        **kwargs
    )
