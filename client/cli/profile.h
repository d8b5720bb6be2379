// Profiles for several environments in one INI file:
//
//   [default]
//   grpc = 127.0.0.1:50051
//   api_key = lr_...
//   [staging]
//   grpc = leadrelay.staging.internal:443
//   tls = true
//
// Keys: grpc, api_key, tls, ca_file, account. Pure parsing.
#ifndef LEADRELAY_CLIENT_CLI_PROFILE_H_
#define LEADRELAY_CLIENT_CLI_PROFILE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leadrelay::cli {

using Profile = std::map<std::string, std::string>;
using Profiles = std::map<std::string, Profile>;

// Sections and their key = value lines; '#' and ';' start comments. An
// error names the line that is neither.
absl::StatusOr<Profiles> ParseProfiles(absl::string_view text);

// $LEADRELAY_CONFIG, else $HOME/.config/leadrelay/config.ini.
std::string DefaultConfigPath();

}  // namespace leadrelay::cli

#endif  // LEADRELAY_CLIENT_CLI_PROFILE_H_
