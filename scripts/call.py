#!/usr/bin/python3
"""Calls one leadrelay RPC with a JSON request, like grpcurl.

Message types come from the descriptor set the build writes
(build/leadrelay.pb), so no generated Python code is needed.

  scripts/call.py leadrelay.v1.AccountService/GetMe
  scripts/call.py leadrelay.v1.LeadService/ListLeads '{"vertical": "solar"}'

Reads LEADRELAY_GRPC and LEADRELAY_API_KEY from the environment or .run/env.
"""
import json
import os
import sys

try:
    import grpc
except ModuleNotFoundError:
    # Run as `python3 scripts/call.py` by a python3 that is not Debian's (a
    # venv or pyenv): Debian's has the python3-grpcio this script needs.
    DEBIAN_PYTHON = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON) \
            and os.access(DEBIAN_PYTHON, os.X_OK) \
            and not os.environ.get("LEADRELAY_CALL_REEXEC"):
        os.environ["LEADRELAY_CALL_REEXEC"] = "1"
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
    sys.exit("call.py needs the grpc module: run it with /usr/bin/python3 "
             "after `apt-get install python3-grpcio python3-protobuf` "
             "(scripts/lib.sh lr_install_deps installs them)")
from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf import message_factory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_env():
    env_file = os.path.join(ROOT, ".run", "env")
    if os.path.exists(env_file):
        for line in open(env_file):
            line = line.strip().removeprefix("export ")
            if "=" in line:
                key, value = line.split("=", 1)
                os.environ.setdefault(key, value.strip("'\""))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    load_env()
    method = sys.argv[1]
    body = sys.argv[2] if len(sys.argv) > 2 else "{}"
    service_name, method_name = method.rsplit("/", 1)

    descriptors = descriptor_pb2.FileDescriptorSet()
    with open(os.path.join(ROOT, "build", "leadrelay.pb"), "rb") as f:
        descriptors.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in descriptors.file:
        pool.Add(file)
    service = pool.FindServiceByName(service_name)
    rpc = service.methods_by_name[method_name]
    factory = message_factory.MessageFactory(pool)
    request_class = factory.GetPrototype(rpc.input_type)
    response_class = factory.GetPrototype(rpc.output_type)

    request = json_format.Parse(body, request_class())
    channel = grpc.insecure_channel(os.environ["LEADRELAY_GRPC"])
    call = channel.unary_unary(
        f"/{service_name}/{method_name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString)
    metadata = [("authorization", "Bearer " + os.environ["LEADRELAY_API_KEY"])]
    try:
        response, info = call.with_call(request, metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        print(f"{error.code().name}: {error.details()}", file=sys.stderr)
        sys.exit(1)
    print(json_format.MessageToJson(response, preserving_proto_field_name=True))
    limits = {k: v for k, v in info.initial_metadata() if k.startswith("x-ratelimit")}
    if limits:
        print(json.dumps(limits), file=sys.stderr)


if __name__ == "__main__":
    main()
