#include "auth/authorizer.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "auth/access_rules.h"
#include "auth/call_headers.h"
#include "auth/platform_identity.h"
#include "auth/platform_rules.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/api_keys_repo.h"

namespace leadrelay::auth {

std::string Authorizer::ClientAddress(grpc::ServerContextBase& context) const {
  std::string peer = context.peer();
  std::string address = AddressOfPeer(peer);
  std::optional<absl::string_view> forwarded =
      CallHeader(context, kClientAddressHeader);
  // The in-process gateway's calls come without a network peer.
  bool in_process =
      !absl::StartsWith(peer, "ipv4:") && !absl::StartsWith(peer, "ipv6:") &&
      !absl::StartsWith(peer, "unix:") && !absl::StartsWith(peer, "vsock:");
  bool trusted =
      in_process || std::find(trusted_proxies_.begin(), trusted_proxies_.end(),
                              address) != trusted_proxies_.end();
  if (trusted && forwarded.has_value() && !forwarded->empty()) {
    return std::string(forwarded->substr(0, 64));
  }
  return address;
}

absl::Status Authorizer::CheckNotThrottled(grpc::ServerContextBase& context) {
  std::string address = ClientAddress(context);
  if (absl::Duration wait = failures_.Blocked(address, absl::Now());
      wait > absl::ZeroDuration()) {
    int seconds = static_cast<int>(
        absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))));
    return LimitReached(
        kReasonAuthThrottled,
        absl::StrCat("too many requests with invalid API keys from this "
                     "address; retry in ",
                     seconds, " s"),
        seconds);
  }
  return absl::OkStatus();
}

absl::StatusOr<Caller> Authorizer::Admit(grpc::ServerContextBase& context,
                                         absl::string_view method,
                                         std::string key_id,
                                         std::string account_id,
                                         std::vector<std::string> scopes,
                                         int monthly_quota) {
  v1::MethodPolicy policy = PolicyFor(method);
  if (!HasScope(scopes, policy.scope())) {
    return Forbidden(absl::StrCat("this API key lacks the '",
                                  ScopeName(policy.scope()),
                                  "' scope required by ", method));
  }
  Caller caller{std::move(key_id), std::move(account_id), std::move(scopes),
                std::move(policy)};
  caller.method = std::string(method);
  caller.monthly_quota = monthly_quota;
  LR_RETURN_IF_ERROR(CheckAccountKeyCall(context, caller));
  return caller;
}

std::optional<absl::StatusOr<Caller>> Authorizer::AdmitCached(
    grpc::ServerContextBase& context, absl::string_view method,
    const std::string& hash) {
  CachedKey cached;
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(hash);
    if (it == cache_.end()) return std::nullopt;
    if (it->second.expires <= absl::Now()) {
      cache_.erase(it);
      return std::nullopt;
    }
    cached = it->second;
  }
  return Admit(context, method, std::move(cached.key_id),
               std::move(cached.account_id), std::move(cached.scopes),
               cached.monthly_quota);
}

std::optional<absl::StatusOr<Caller>> Authorizer::AuthorizeFromMemory(
    grpc::ServerContextBase& context, absl::string_view method) {
  LR_RETURN_IF_ERROR(CheckNotThrottled(context));
  if (platform_ != nullptr && platform_->Claims(context)) return std::nullopt;
  absl::StatusOr<std::string> key = ExtractApiKey(
      CallHeader(context, "authorization"), CallHeader(context, "x-api-key"));
  if (!key.ok()) return key.status();
  return AdmitCached(context, method, Sha256(*key));
}

absl::StatusOr<Caller> Authorizer::Authorize(grpc::ServerContextBase& context,
                                             absl::string_view method) {
  LR_RETURN_IF_ERROR(CheckNotThrottled(context));
  if (platform_ != nullptr) {
    if (auto platform_call = platform_->Authorize(context, method)) {
      return *std::move(platform_call);
    }
  }
  LR_ASSIGN_OR_RETURN(std::string key,
                      ExtractApiKey(CallHeader(context, "authorization"),
                                    CallHeader(context, "x-api-key")));
  std::string hash = Sha256(key);
  if (std::optional<absl::StatusOr<Caller>> cached =
          AdmitCached(context, method, hash)) {
    return *std::move(cached);
  }
  std::optional<store::KeyLookup> found;
  LR_RETURN_IF_ERROR(pool_.Run([&](store::Connection& conn) -> absl::Status {
    LR_ASSIGN_OR_RETURN(found, store::AuthenticateAndCount(conn, hash));
    return absl::OkStatus();
  }));
  // The index lookup is by hash; compare again in constant time so no code
  // path depends on how much of a guessed key matched.
  if (!found.has_value() || !ConstantTimeEquals(found->key_hash, hash)) {
    failures_.RecordFailure(ClientAddress(context), absl::Now());
    return Unauthorized("invalid or revoked API key");
  }
  if (found->account_suspended) {
    return Forbidden("this account is suspended", kReasonAccountSuspended);
  }
  CombinedRateLimit combined = CombineRateLimits(
      DecideRateLimit(found->rate_limit, found->count, found->window_start_us,
                      found->now_us),
      DecideRateLimit(found->account_rate_limit, found->account_count,
                      found->account_window_start_us, found->now_us));
  const RateLimitVerdict& verdict = combined.verdict;
  if (verdict.limit > 0) {
    context.AddInitialMetadata("x-ratelimit-limit",
                               absl::StrCat(verdict.limit));
    context.AddInitialMetadata("x-ratelimit-remaining",
                               absl::StrCat(verdict.remaining));
    context.AddInitialMetadata("x-ratelimit-reset",
                               absl::StrCat(verdict.reset_unix));
  }
  if (!verdict.allowed) {
    return combined.account_wide
               ? AccountRateLimited(verdict.retry_after_seconds, verdict.limit)
               : RateLimited(verdict.retry_after_seconds, verdict.limit);
  }
  if (found->rate_limit <= 0 && found->account_rate_limit <= 0) {
    absl::MutexLock lock(&mu_);
    if (cache_.size() > 100000) cache_.clear();  // bound memory
    cache_[hash] = {found->key_id, found->account_id, found->scopes,
                    absl::Now() + cache_ttl_, found->monthly_quota};
  }
  return Admit(context, method, std::move(found->key_id),
               std::move(found->account_id), std::move(found->scopes),
               found->monthly_quota);
}

void Authorizer::Invalidate(const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  if (key_id.empty()) {
    cache_.clear();
    return;
  }
  absl::erase_if(
      cache_, [&](const auto& entry) { return entry.second.key_id == key_id; });
}

}  // namespace leadrelay::auth
