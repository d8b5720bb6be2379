// leads list|get|create|update|erase|import.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cli_context.h"
#include "google/protobuf/util/json_util.h"
#include "leadrelay/lead_import.h"
#include "output.h"

namespace leadrelay::cli {
namespace {

const std::vector<Column>& LeadColumns() {
  static const auto* const kColumns =
      new std::vector<Column>{{"ID", "id"},
                              {"VERTICAL", "vertical"},
                              {"NAME", "first_name"},
                              {"SUBURB", "suburb"},
                              {"SCORE", "score"},
                              {"TIER", "score_tier"},
                              {"STATUS", "status"},
                              {"EXTERNAL ID", "external_id"},
                              {"CREATED", "created_at"}};
  return *kColumns;
}

struct ImportFlags {
  std::string file;
  std::string rejects;
  int concurrency = 16;
};

// Progress on stderr: a bar redrawn in place on a terminal, a plain line
// every few seconds otherwise.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool tty) : tty_(tty), start_(absl::Now()) {}

  void Update(const import::ImportCounts& c, bool final) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    const absl::Duration every =
        tty_ ? absl::Milliseconds(100) : absl::Seconds(5);
    if (!final && now - last_ < every) return;
    last_ = now;
    const double elapsed = std::max(1e-3, absl::ToDoubleSeconds(now - start_));
    const double rate = c.done / elapsed;
    const double eta = rate > 0 ? (c.total - c.done) / rate : 0;
    if (tty_) {
      const int width = 30;
      const int filled =
          c.total == 0 ? width : static_cast<int>(width * c.done / c.total);
      std::fprintf(stderr, "\r[%s%s] %zu/%zu  %.0f rows/s  ETA %.0fs   ",
                   std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), c.done, c.total,
                   rate, eta);
      if (final) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "imported %zu/%zu rows (%.0f rows/s)\n", c.done,
                   c.total, rate);
    }
    std::fflush(stderr);
  }

 private:
  absl::Mutex mu_;
  const bool tty_;
  const absl::Time start_;
  absl::Time last_ = absl::InfinitePast();
};

int RunImport(CliContext& ctx, const ImportFlags& flags) {
  std::ifstream in(flags.file, std::ios::binary);
  if (!in) return UsageError(absl::StrCat("cannot read ", flags.file));
  std::stringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  absl::StatusOr<std::vector<import::LeadRow>> rows =
      import::ParseLeadRows(content, import::DetectFormat(flags.file, content));
  if (!rows.ok()) {
    return UsageError(absl::StrCat(flags.file, ": ", rows.status().message()));
  }
  // A few connections for many callers, as a bulk loader should.
  absl::StatusOr<ClientOptions> options = ctx.ResolveOptions();
  if (!options.ok()) return UsageError(std::string(options.status().message()));
  options->channels = std::max(1, flags.concurrency / 8);
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(*std::move(options));
  if (!client.ok()) return UsageError(std::string(client.status().message()));

  ProgressPrinter progress(ctx.stderr_tty());
  import::ImportOptions import_options;
  import_options.concurrency = flags.concurrency;
  import_options.on_progress = [&](const import::ImportCounts& c) {
    progress.Update(c, false);
  };
  import::ImportSummary summary =
      import::ImportLeads(**client, *rows, import_options);
  progress.Update(summary.counts, true);

  const std::string rejects_path = flags.rejects.empty()
                                       ? absl::StrCat(flags.file, ".rejects")
                                       : flags.rejects;
  if (summary.counts.rejected > 0) {
    std::ofstream out(rejects_path, std::ios::trunc);
    out << "line\treason\tmessage\trow\n";
    for (size_t i = 0; i < summary.rows.size(); ++i) {
      const import::RowResult& r = summary.rows[i];
      if (r.outcome != import::RowOutcome::kRejected) continue;
      std::string raw = (*rows)[i].raw;
      for (char& ch : raw) {
        if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
      }
      out << r.line << "\t" << r.reason << "\t" << r.message << "\t" << raw
          << "\n";
    }
  }
  const import::ImportCounts& c = summary.counts;
  if (ctx.json()) {
    std::cout << absl::StrFormat(
                     "{\"total\":%d,\"created\":%d,\"already_present\":%d,"
                     "\"rejected\":%d,\"not_attempted\":%d,\"rejects_file\":"
                     "\"%s\"}",
                     c.total, c.created, c.already_present, c.rejected,
                     c.total - c.done,
                     c.rejected > 0 ? rejects_path : std::string())
              << std::endl;
  } else {
    std::cout << absl::StrFormat(
        "%d rows: %d created, %d already present (same external_id), %d "
        "rejected\n",
        c.total, c.created, c.already_present, c.rejected);
    if (c.rejected > 0) {
      std::cout << "rejected rows with their line numbers and reasons: "
                << rejects_path << "\n";
    }
    std::cout << std::flush;
  }
  if (!summary.stopped.ok()) {
    std::cerr << absl::StrFormat(
        "stopped after %d of %d rows; run again to "
        "continue (nothing is created twice)\n",
        c.done, c.total);
    return ApiError(summary.stopped);
  }
  return kExitOk;
}

struct EraseFlags {
  std::vector<std::string> ids;
  std::vector<std::string> external_ids;
  std::vector<std::string> phones;
  std::vector<std::string> emails;
};

// EraseLead for each id, then EraseLeads by the keys until nothing more
// matches; prints every tombstone, including those made before a failure.
int RunErase(CliContext& ctx, const EraseFlags& flags) {
  v1::EraseLeadsRequest keys;
  keys.mutable_external_ids()->Assign(flags.external_ids.begin(),
                                      flags.external_ids.end());
  keys.mutable_phones()->Assign(flags.phones.begin(), flags.phones.end());
  keys.mutable_emails()->Assign(flags.emails.begin(), flags.emails.end());
  const bool has_keys =
      keys.external_ids_size() + keys.phones_size() + keys.emails_size() > 0;
  if (flags.ids.empty() && !has_keys) {
    return UsageError(
        "name the leads: ids, or --external-id, --phone or --email");
  }
  int rc = kExitOk;
  Client* client = ctx.client(&rc);
  if (client == nullptr) return rc;
  v1::EraseLeadsResponse erased;
  absl::Status failed;
  for (const std::string& id : flags.ids) {
    v1::EraseLeadRequest request;
    request.set_id(id);
    absl::StatusOr<v1::LeadErasure> erasure = client->EraseLead(request);
    if (!erasure.ok()) {
      failed = erasure.status();
      break;
    }
    *erased.add_erasures() = *std::move(erasure);
  }
  for (bool more = has_keys; failed.ok() && more;) {
    absl::StatusOr<v1::EraseLeadsResponse> page = client->EraseLeads(keys);
    if (!page.ok()) {
      failed = page.status();
      break;
    }
    for (v1::LeadErasure& e : *page->mutable_erasures()) {
      *erased.add_erasures() = std::move(e);
    }
    // A page that erased nothing cannot make progress: stop rather than spin.
    more = page->more() && page->erasures_size() > 0;
  }
  static const auto* const kColumns =
      new std::vector<Column>{{"LEAD ID", "lead_id"},
                              {"ERASED AT", "erased_at"},
                              {"EVENT", "event_id"}};
  PrintList(ctx, erased, "erasures", *kColumns,
            absl::StrCat(erased.erasures_size(), " lead(s) erased"));
  return failed.ok() ? kExitOk : ApiError(failed);
}

}  // namespace

void AddLeadCommands(CLI::App& app, CliContext& ctx, int* rc) {
  CLI::App* leads = app.add_subcommand("leads", "leads");
  leads->require_subcommand(1);

  static v1::ListLeadsRequest list_req;
  CLI::App* list = leads->add_subcommand("list", "leads, newest first");
  list->add_option("--vertical", *list_req.mutable_vertical());
  list->add_option("--score-tier", *list_req.mutable_score_tier());
  list->add_option("--suburb", *list_req.mutable_suburb());
  list->add_option("--status", *list_req.mutable_status());
  list->add_option("--from", *list_req.mutable_date_from(), "YYYY-MM-DD");
  list->add_option("--to", *list_req.mutable_date_to(), "YYYY-MM-DD");
  static int page = 0;
  static int limit = 0;
  list->add_option("--page", page);
  list->add_option("--limit", limit);
  list->callback([&ctx, rc] {
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    list_req.set_page(page);
    list_req.set_limit(limit);
    auto leads = client->ListLeads(list_req);
    *rc = leads.ok() ? kExitOk : ApiError(leads.status());
    if (leads.ok()) {
      PrintList(ctx, *leads, "leads", LeadColumns(),
                absl::StrCat("page ", leads->page(), ", ", leads->leads_size(),
                             " of ", leads->total()));
    }
  });

  static v1::GetLeadRequest get_req;
  CLI::App* get =
      leads->add_subcommand("get", "one lead, with contact details");
  get->add_option("id", *get_req.mutable_id())->required();
  get->callback([&ctx, rc] {
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto lead = client->GetLead(get_req);
    *rc = lead.ok() ? kExitOk : ApiError(lead.status());
    if (lead.ok()) PrintObject(ctx, *lead);
  });

  static v1::Lead new_lead;
  static std::string lead_json;
  static int score = -1;
  CLI::App* create = leads->add_subcommand(
      "create",
      "create a lead (retried safely: an external_id is generated "
      "when none is given)");
  create->add_option("--json", lead_json, "the whole lead as JSON");
  create->add_option("--vertical", *new_lead.mutable_vertical());
  create->add_option("--first-name", *new_lead.mutable_first_name());
  create->add_option("--last-name", *new_lead.mutable_last_name());
  create->add_option("--suburb", *new_lead.mutable_suburb());
  create->add_option("--province", *new_lead.mutable_province());
  create->add_option("--service-type", *new_lead.mutable_service_type());
  create->add_option("--phone", *new_lead.mutable_phone());
  create->add_option("--email", *new_lead.mutable_email());
  create->add_option("--source", *new_lead.mutable_source());
  create->add_option("--external-id", *new_lead.mutable_external_id());
  create->add_option("--score", score);
  create->callback([&ctx, rc] {
    v1::CreateLeadRequest request;
    if (!lead_json.empty()) {
      auto parsed = google::protobuf::util::JsonStringToMessage(
          lead_json, request.mutable_lead());
      if (!parsed.ok()) {
        *rc =
            UsageError(absl::StrCat("--json: ", parsed.message().as_string()));
        return;
      }
    }
    request.mutable_lead()->MergeFrom(new_lead);
    if (score >= 0) request.mutable_lead()->set_score(score);
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto lead = client->CreateLead(request);
    *rc = lead.ok() ? kExitOk : ApiError(lead.status());
    if (lead.ok()) PrintObject(ctx, *lead);
  });

  static v1::UpdateLeadRequest update_req;
  static std::string status;
  static std::string tier;
  static int new_score = -1;
  CLI::App* update = leads->add_subcommand("update", "change status or score");
  update->add_option("id", *update_req.mutable_id())->required();
  update->add_option("--status", status,
                     "new, contacted, qualified, converted, lost");
  update->add_option("--score", new_score);
  update->add_option("--score-tier", tier);
  update->callback([&ctx, rc] {
    if (!status.empty()) update_req.set_status(status);
    if (!tier.empty()) update_req.set_score_tier(tier);
    if (new_score >= 0) update_req.set_score(new_score);
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto lead = client->UpdateLead(update_req);
    *rc = lead.ok() ? kExitOk : ApiError(lead.status());
    if (lead.ok()) PrintObject(ctx, *lead);
  });

  static EraseFlags erase_flags;
  CLI::App* erase = leads->add_subcommand(
      "erase",
      "erase leads' personal data for good (POPIA/GDPR), by id or by "
      "external id, phone or email; a tombstone and a lead.erased event "
      "remain");
  erase->add_option("ids", erase_flags.ids, "lead ids");
  erase->add_option("--external-id", erase_flags.external_ids)
      ->allow_extra_args(false);
  erase->add_option("--phone", erase_flags.phones, "E.164")
      ->allow_extra_args(false);
  erase->add_option("--email", erase_flags.emails)->allow_extra_args(false);
  erase->callback([&ctx, rc] { *rc = RunErase(ctx, erase_flags); });

  static ImportFlags import_flags;
  CLI::App* imp = leads->add_subcommand(
      "import",
      "create leads from a CSV file (header row of lead field names) or "
      "NDJSON; running it again creates nothing new");
  imp->add_option("file", import_flags.file, "CSV or NDJSON file")->required();
  imp->add_option("--rejects", import_flags.rejects,
                  "where rejected rows go (default FILE.rejects)");
  imp->add_option("--concurrency", import_flags.concurrency,
                  "CreateLead calls in flight")
      ->check(CLI::Range(1, 256));
  imp->callback([&ctx, rc] { *rc = RunImport(ctx, import_flags); });
}

}  // namespace leadrelay::cli
