// Turns gRPC's answer to a request it could not parse (malformed protobuf,
// or invalid UTF-8 in a string field, which protobuf refuses to parse) from
// a bare INTERNAL into INVALID_ARGUMENT with reason invalid_request: the
// caller sent bad input, the server did not fail.
#ifndef LEADRELAY_SERVER_SERVICES_MALFORMED_REQUEST_INTERCEPTOR_H_
#define LEADRELAY_SERVER_SERVICES_MALFORMED_REQUEST_INTERCEPTOR_H_

#include <memory>

#include "grpcpp/support/server_interceptor.h"

namespace leadrelay {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory();

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_SERVICES_MALFORMED_REQUEST_INTERCEPTOR_H_
