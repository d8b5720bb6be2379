"""For another Bazel workspace that depends on leadrelay:

    local_repository(name = "leadrelay", path = "...")   # or git_repository
    load("@leadrelay//bazel:deps.bzl", "leadrelay_dependencies")
    leadrelay_dependencies()

then depend on @leadrelay//proto:leadrelay_proto (messages and gRPC stubs)
or @leadrelay//client:leadrelay_client.
"""

load("//bazel:system_libs.bzl", "system_libs")

def leadrelay_dependencies():
    """Declares the @system repository leadrelay's targets link against."""
    if not native.existing_rule("system"):
        system_libs(name = "system")
