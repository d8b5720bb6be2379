// The gateway configuration the fuzz targets transcode with: the repo's
// envoy.yaml over the descriptor set this build generated.
#ifndef LEADRELAY_TESTS_FUZZ_FUZZ_GATEWAY_H_
#define LEADRELAY_TESTS_FUZZ_FUZZ_GATEWAY_H_

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "gateway/gateway.h"
#include "gateway/transcoder.h"

namespace leadrelay::fuzz {

// Built once per process; aborts when the configuration does not load (a
// broken build, not a finding).
inline const gateway::Transcoder& FuzzTranscoder() {
  static const gateway::Transcoder* transcoder = [] {
    auto config = gateway::LoadGatewayConfig(GATEWAY_ENVOY_YAML);
    if (!config.ok()) {
      std::fprintf(stderr, "envoy.yaml: %s\n",
                   config.status().ToString().c_str());
      std::abort();
    }
    config->proto_descriptor = LR_DESCRIPTOR_SET;
    auto t = gateway::Transcoder::Create(*config);
    if (!t.ok()) {
      std::fprintf(stderr, "transcoder: %s\n", t.status().ToString().c_str());
      std::abort();
    }
    return t->release();
  }();
  return *transcoder;
}

}  // namespace leadrelay::fuzz

#endif  // LEADRELAY_TESTS_FUZZ_FUZZ_GATEWAY_H_
