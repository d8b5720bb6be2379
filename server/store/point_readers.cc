#include "store/point_readers.h"

#include <utility>
#include <vector>

namespace leadrelay::store {
namespace {

// A batch function of ReadCoalescer running `read` on a pooled connection.
template <typename Key, typename Value, typename Read>
typename ReadCoalescer<Key, Value>::ReadBatch OnPool(Pool& pool, Read read) {
  return [&pool, read](const std::vector<Key>& keys)
             -> absl::StatusOr<std::vector<absl::StatusOr<Value>>> {
    absl::StatusOr<std::vector<absl::StatusOr<Value>>> out;
    absl::Status status = pool.Run([&](Connection& conn) -> absl::Status {
      out = read(conn, keys);
      return out.status();
    });
    if (!status.ok()) return status;
    return out;
  };
}

// A lost connection would fail each key alike.
bool WorthReadingAlone(const absl::Status& status) {
  return !IsConnectionError(status);
}

}  // namespace

PointReaders::PointReaders(Pool& pool)
    : leads(OnPool<LeadKey, v1::Lead>(pool, GetLeads), WorthReadingAlone),
      accounts_and_keys(
          OnPool<AccountKeyRef, AccountAndKey>(pool, GetAccountsAndKeys),
          WorthReadingAlone) {}

}  // namespace leadrelay::store
