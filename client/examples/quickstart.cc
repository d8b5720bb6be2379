// The README's library example: configure from the environment, read the
// account, create a lead safely (retries cannot duplicate it), and follow
// the stream for a few seconds.
//
//   source .run/env && build/client/leadrelay_quickstart
#include <iostream>

#include "absl/time/clock.h"
#include "leadrelay/client.h"
#include "leadrelay/subscription.h"

int main() {
  // LEADRELAY_GRPC, LEADRELAY_API_KEY (and LEADRELAY_TLS / _CA_FILE).
  leadrelay::ClientOptions options = leadrelay::ClientOptions::FromEnv();
  options.user_agent = "quickstart/1";
  absl::StatusOr<std::unique_ptr<leadrelay::Client>> client =
      leadrelay::Client::Create(options);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 2;
  }

  absl::StatusOr<leadrelay::v1::GetMeResponse> me = (*client)->GetMe();
  if (!me.ok()) {
    // e.g. "unauthorized: invalid API key"
    std::cerr << "error: " << leadrelay::DescribeError(me.status()) << "\n";
    return 1;
  }
  std::cout << "account " << me->account().name() << ", "
            << me->account().credits() << " credits\n";

  leadrelay::v1::CreateLeadRequest request;
  leadrelay::v1::Lead* lead = request.mutable_lead();
  lead->set_vertical("solar");
  lead->set_first_name("Thabo");
  lead->set_suburb("Sandton");
  lead->set_phone("+27823456789");
  lead->set_external_id("crm-42");  // your id: a retry returns the same lead
  absl::StatusOr<leadrelay::v1::Lead> created = (*client)->CreateLead(request);
  if (!created.ok()) {
    std::cerr << "error: " << leadrelay::DescribeError(created.status());
    if (auto delay = leadrelay::RetryDelay(created.status())) {
      std::cerr << " (retry in " << absl::FormatDuration(*delay) << ")";
    }
    std::cerr << "\n";
    return 1;
  }
  std::cout << "lead " << created->id() << " (" << created->score_tier()
            << ")\n";

  leadrelay::SubscriptionOptions stream;
  stream.request.add_types("lead.new");
  stream.checkpoint_file = "quickstart.cursor";  // resume here next time
  auto subscription = leadrelay::Subscription::Start(
      **client, stream, [](const leadrelay::v1::Event& event) {
        std::cout << event.type() << " " << event.id() << "\n";
      });
  if (!subscription.ok()) return 2;
  absl::SleepFor(absl::Seconds(5));
  (*subscription)->Stop();
  return 0;
}
