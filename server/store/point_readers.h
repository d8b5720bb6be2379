// The coalesced point reads of the busiest unary calls (read_coalescer.h),
// their batches run on the pool.
#ifndef LEADRELAY_SERVER_STORE_POINT_READERS_H_
#define LEADRELAY_SERVER_STORE_POINT_READERS_H_

#include "leadrelay/v1/lead.pb.h"
#include "store/api_keys_repo.h"
#include "store/leads_repo.h"
#include "store/pg.h"
#include "store/read_coalescer.h"

namespace leadrelay::store {

// GetLead.
using LeadReader = ReadCoalescer<LeadKey, v1::Lead>;
// GetMe of a caller with an API key.
using AccountKeyReader = ReadCoalescer<AccountKeyRef, AccountAndKey>;

struct PointReaders {
  explicit PointReaders(Pool& pool);

  LeadReader leads;
  AccountKeyReader accounts_and_keys;
};

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_POINT_READERS_H_
