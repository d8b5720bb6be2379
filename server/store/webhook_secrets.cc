#include "store/webhook_secrets.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "store/webhooks_repo.h"

namespace leadrelay::store {
namespace {

constexpr int kBatch = 200;

// The plaintext of one stored column pair (secret, key id).
absl::StatusOr<std::string> OpenStored(const crypto::SecretBox& box,
                                       const std::string& webhook_id,
                                       const crypto::SealedSecret& stored) {
  if (stored.key_id.empty()) return stored.ciphertext;  // from before
  absl::StatusOr<std::string> plain =
      box.Open(stored, SecretContext(webhook_id));
  if (!plain.ok()) {
    return absl::Status(plain.status().code(),
                        absl::StrCat("secret of webhook ", webhook_id, ": ",
                                     plain.status().message()));
  }
  return plain;
}

}  // namespace

crypto::SealedSecret StoredSecretFrom(const Result& r, int row, int column,
                                      int key_column) {
  crypto::SealedSecret s;
  s.ciphertext = r.String(row, column);
  if (r.IsNull(row, key_column)) return s;
  s.key_id = r.String(row, key_column);
  std::string raw;
  // Not base64: left as is, so that opening it fails authentication.
  if (absl::Base64Unescape(s.ciphertext, &raw)) s.ciphertext = std::move(raw);
  return s;
}

absl::StatusOr<std::vector<std::string>> OpenWebhookSecrets(
    const crypto::SecretBox& box, const std::string& webhook_id,
    const std::vector<crypto::SealedSecret>& secrets) {
  std::vector<std::string> out;
  for (const crypto::SealedSecret& s : secrets) {
    LR_ASSIGN_OR_RETURN(std::string plain, OpenStored(box, webhook_id, s));
    out.push_back(std::move(plain));
  }
  return out;
}

absl::StatusOr<SealCounts> SealWebhookSecrets(Pool& pool,
                                              const crypto::SecretBox& box,
                                              bool reencrypt) {
  SealCounts counts;
  std::string after;  // id order: each row is looked at once per pass
  for (;;) {
    std::optional<Result> rows;
    LR_RETURN_IF_ERROR(pool.Run([&](Connection& conn) -> absl::Status {
      LR_ASSIGN_OR_RETURN(
          rows, conn.Exec(R"sql(
          SELECT id, secret, secret_key_id, previous_secret,
                 previous_secret_key_id
          FROM webhooks
          WHERE id > $1
            AND (secret_key_id IS NULL
                 OR (previous_secret IS NOT NULL
                     AND previous_secret_key_id IS NULL)
                 OR ($2 AND (secret_key_id <> $3
                             OR previous_secret_key_id <> $3)))
          ORDER BY id LIMIT $4)sql",
                          {after, reencrypt, box.active_key_id(), kBatch}));
      return absl::OkStatus();
    }));
    if (rows->rows() == 0) return counts;
    for (int i = 0; i < rows->rows(); ++i) {
      std::string id = rows->String(i, 0);
      after = id;
      crypto::SealedSecret current = StoredSecretFrom(*rows, i, 1, 2);
      bool has_previous = !rows->IsNull(i, 3);
      crypto::SealedSecret previous;
      if (has_previous) previous = StoredSecretFrom(*rows, i, 3, 4);
      bool was_plain =
          current.key_id.empty() || (has_previous && previous.key_id.empty());

      LR_ASSIGN_OR_RETURN(std::string plain, OpenStored(box, id, current));
      LR_ASSIGN_OR_RETURN(crypto::SealedSecret sealed,
                          box.Seal(plain, SecretContext(id)));
      Param previous_param = Param::Null();
      Param previous_key = Param::Null();
      if (has_previous) {
        LR_ASSIGN_OR_RETURN(std::string old, OpenStored(box, id, previous));
        LR_ASSIGN_OR_RETURN(crypto::SealedSecret resealed,
                            box.Seal(old, SecretContext(id)));
        previous_param = Param(absl::Base64Escape(resealed.ciphertext));
        previous_key = Param(resealed.key_id);
      }
      // Only if the row still holds what was read.
      Result updated(nullptr);
      LR_RETURN_IF_ERROR(pool.Run([&](Connection& conn) -> absl::Status {
        LR_ASSIGN_OR_RETURN(
            updated,
            conn.Exec(
                R"sql(
            UPDATE webhooks SET secret = $2, secret_key_id = $3,
                   previous_secret = $4, previous_secret_key_id = $5
            WHERE id = $1 AND secret = $6
              AND previous_secret IS NOT DISTINCT FROM $7
            RETURNING id)sql",
                {id, absl::Base64Escape(sealed.ciphertext), sealed.key_id,
                 previous_param, previous_key, rows->String(i, 1),
                 has_previous ? Param(rows->String(i, 3)) : Param::Null()}));
        return absl::OkStatus();
      }));
      if (updated.rows() == 0) continue;
      ++(was_plain ? counts.encrypted : counts.reencrypted);
    }
  }
}

}  // namespace leadrelay::store
