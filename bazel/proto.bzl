"""C++ and gRPC code and descriptor sets from .proto files, with the system
protoc and grpc_cpp_plugin (Debian), like proto/CMakeLists.txt."""

# google/api (http annotations) and google/rpc (status, ErrorInfo): Debian's
# copies, the same include paths as the CMake build.
GOOGLEAPIS_DIR = "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis"
GOOGLE_RPC_DIR = "/usr/share/gocode/src/github.com/gogo/googleapis/google/rpc"
PROTOC = "/usr/bin/protoc"
GRPC_CPP_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def _root_and_includes(first):
    # The import root is the location of `first` minus its package-relative
    # path, so the rule also works from another workspace (external/...).
    return ("L=$(location %s); ROOT=$${L%%/%s}; " % (first, first) +
            "INC=\"-I$$ROOT -Igoogle/rpc=%s -I%s -I/usr/include\"; " % (GOOGLE_RPC_DIR, GOOGLEAPIS_DIR))

def lr_cc_proto_library(name, srcs, grpc_srcs = [], google_protos = [], deps = [], visibility = None):
    """Generates *.pb.{h,cc} for srcs + google_protos and *.grpc.pb.{h,cc}
    for grpc_srcs, and compiles them into one cc_library.

    srcs and grpc_srcs are package-relative .proto paths (they are also the
    import paths); google_protos are import paths found in the Debian dirs.
    """
    outs = []
    for p in srcs + google_protos:
        outs += [p[:-len(".proto")] + ".pb.cc", p[:-len(".proto")] + ".pb.h"]
    for p in grpc_srcs:
        outs += [p[:-len(".proto")] + ".grpc.pb.cc", p[:-len(".proto")] + ".grpc.pb.h"]
    cmd = _root_and_includes(srcs[0]) if srcs else (
        "ROOT=.; INC=\"-Igoogle/rpc=%s -I%s -I/usr/include\"; " % (GOOGLE_RPC_DIR, GOOGLEAPIS_DIR))
    cmd += "%s $$INC --cpp_out=$(RULEDIR) %s" % (PROTOC, " ".join(srcs + google_protos))
    if grpc_srcs:
        cmd += " && %s $$INC --grpc_out=$(RULEDIR) --plugin=protoc-gen-grpc=%s %s" % (
            PROTOC,
            GRPC_CPP_PLUGIN,
            " ".join(grpc_srcs),
        )
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = outs,
        cmd = cmd,
        message = "protoc: " + name,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + ["@system//:grpc++", "@system//:protobuf"],
        visibility = visibility,
    )

def lr_descriptor_set(name, srcs, out, visibility = None):
    """A descriptor set with imports and source info (for the gateway and
    OpenAPI), from package-relative .proto paths. srcs[0] locates the root."""
    cmd = _root_and_includes(srcs[0])
    cmd += "%s $$INC --include_imports --include_source_info --descriptor_set_out=$@ %s" % (
        PROTOC,
        " ".join(srcs),
    )
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [out],
        cmd = cmd,
        message = "protoc: descriptor set " + out,
        visibility = visibility,
    )
