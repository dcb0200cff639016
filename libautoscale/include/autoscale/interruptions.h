// SPDX-License-Identifier: Apache-2.0
/// \file
/// Interruption notices from the cloud: the EventBridge events an SQS queue receives
/// (spot interruption warnings, rebalance recommendations, instance state changes and
/// AWS Health scheduled changes), the parser from a message body to notices, and the
/// InterruptionQueue seam with its SQS implementation (JSON protocol, SigV4, standard
/// retries, the AWS credential chain).

#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/aws_credentials.h>
#include <autoscale/clock.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/http.h>
#include <autoscale/log.h>
#include <autoscale/result.h>

namespace autoscale {

/// What DRONE_AMAZON_INTERRUPTION_QUEUE and DRONE_RESTART_LOST_BUILDS configure.
struct InterruptionSettings {
    /// The SQS queue URL EventBridge delivers to, e.g.
    /// "https://sqs.us-east-1.amazonaws.com/123456789012/drone-interruptions"; empty: no
    /// queue (reclaims are noticed by the sweep and DescribeInstances' StateReason).
    std::string queueUrl{};
    /// Cancel and restart, through Drone's API, the builds whose stages ran on a server
    /// that was reclaimed or vanished.
    bool restartLostBuilds = false;

    friend bool operator==(const InterruptionSettings&, const InterruptionSettings&) = default;
};

/// Checks a queue URL: https (http only for a loopback host), a host, and a path of
/// exactly "/<account>/<queue name>". The empty string is valid (no queue).
/// Errc::InvalidArgument naming what is wrong.
Result<void> validateQueueUrl(std::string_view url);

/// The region of an SQS queue URL's host: "sqs.<region>.amazonaws.com[.cn]",
/// "<region>.queue.amazonaws.com" (legacy), "queue.amazonaws.com" (us-east-1);
/// "" for any other host (a loopback fake, a proxy).
std::string sqsRegionOf(std::string_view queueUrl);

/// One thing the cloud told us about one instance.
struct CloudNotice {
    enum Kind {
        SpotInterruption, ///< "EC2 Spot Instance Interruption Warning": reclaimed in ~2 min.
        Rebalance,        ///< "EC2 Instance Rebalance Recommendation": at elevated risk.
        StateChange,      ///< "EC2 Instance State-change Notification".
        ScheduledChange,  ///< An AWS Health scheduled change (retirement, maintenance).
    };
    Kind kind = SpotInterruption;
    std::string instanceId{};
    /// SpotInterruption: the instance-action ("terminate", "stop", "hibernate");
    /// StateChange: the new state ("pending", "running", "stopping", "stopped",
    /// "shutting-down", "terminated"); ScheduledChange: the Health eventTypeCode
    /// (e.g. "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"); Rebalance: "".
    std::string state{};
    WallTime time{}; ///< The event's "time" (when EventBridge saw it).

    friend bool operator==(const CloudNotice&, const CloudNotice&) = default;
};

/// Lower-case name of a notice kind: "spot_interruption", "rebalance", "state_change",
/// "scheduled_change".
std::string_view nameOf(CloudNotice::Kind kind);

/// True for the notices after which the instance is going away: a spot interruption, a
/// state change to shutting-down, terminated, stopping or stopped, and a scheduled change.
/// A rebalance recommendation is advice only.
bool meansInstanceLost(const CloudNotice& notice);

/// What one message body held.
struct CloudEvent {
    std::vector<CloudNotice> notices{}; ///< Empty when the event is not one we act on.
    std::string ignored{};              ///< Why it was ignored, when `notices` is empty.
};

/// Parses an EventBridge event (the JSON body EventBridge puts on an SQS queue).
/// Well-formed events of other kinds (other sources or detail-types, Health events for
/// other services or categories) come back with no notices and `ignored` saying why.
/// Errc::Parse for a body that is not JSON, not an object, or an event of a kind we act
/// on that lacks a field we need (instance id, state, time). Never crashes.
Result<CloudEvent> parseCloudEvent(std::string_view body);

/// One message received from the queue.
struct QueueMessage {
    std::string messageId{};
    std::string receiptHandle{}; ///< Pass to InterruptionQueue::remove() once handled.
    std::vector<CloudNotice> notices{};
    /// Why `notices` is empty: "ignored: ..." (an event we do not act on) or
    /// "malformed: ..." (a body that did not parse); such messages should be removed too.
    std::string problem{};
};

/// Where interruption notices come from.
///
/// Thread-safety: receive() and remove() may run at the same time on two threads (the
/// SQS implementation uses one connection for each); two receive() calls, or two
/// remove() calls, are serialized.
class InterruptionQueue {
public:
    virtual ~InterruptionQueue();

    /// Waits for messages (SQS long polling: up to the configured wait, 20 s by default)
    /// and returns those received, possibly none. Retryable errors are retried with
    /// standard-mode back-off, sleeping through the Clock; `stop` cuts those sleeps
    /// short and is checked before each request (a request in flight is not
    /// interrupted: it ends within the wait plus a few seconds). A received message
    /// comes back again after the queue's visibility timeout unless it is removed.
    /// Errors: Errc::Unauthorized/Forbidden (credentials, IAM), Errc::NotFound (no such
    /// queue), Errc::Throttled/Unavailable/Transport/Timeout (after retries),
    /// Errc::Parse (a reply that is not SQS's JSON); the message names the SQS code.
    [[nodiscard]] virtual Result<std::vector<QueueMessage>>
    receive(const std::stop_token& stop) = 0;

    /// Deletes a handled message. Errc::InvalidArgument for a receipt handle SQS does not
    /// accept (ReceiptHandleIsInvalid); otherwise as receive().
    [[nodiscard]] virtual Result<void> remove(const std::string& receiptHandle) = 0;

    InterruptionQueue(const InterruptionQueue&) = delete;
    InterruptionQueue& operator=(const InterruptionQueue&) = delete;

protected:
    InterruptionQueue() = default;
};

/// How the SQS queue is reached.
struct SqsQueueOptions {
    std::string queueUrl{}; ///< InterruptionSettings::queueUrl; must pass validateQueueUrl.
    /// Where requests go. Empty: the AwsEnvironment overload takes AWS_ENDPOINT_URL_SQS,
    /// then AWS_ENDPOINT_URL; otherwise https://sqs.<region>.amazonaws.com, or the queue
    /// URL's own scheme and host when it is not an AWS host.
    std::string endpoint{};
    /// The signing region. Empty: the queue URL's (sqsRegionOf), else `fallbackRegion`.
    std::string region{};
    std::string fallbackRegion = "us-east-1"; ///< DRONE_AMAZON_REGION.
    std::chrono::seconds waitTime{20};        ///< ReceiveMessage WaitTimeSeconds, 0 to 20.
    int maxMessages = 10;                     ///< ReceiveMessage MaxNumberOfMessages, 1 to 10.
    /// ReceiveMessage VisibilityTimeout; 0 leaves the queue's own.
    std::chrono::seconds visibilityTimeout{0};
    RetrySettings retry{}; ///< Standard mode, as EC2's.
    std::chrono::milliseconds connectTimeout{5000};
    /// Added to waitTime for the HTTP timeout of a ReceiveMessage (and the whole timeout
    /// of a DeleteMessage).
    std::chrono::milliseconds requestSlack{10000};
    std::uint64_t seed = 0; ///< Jitter seed; 0 draws one from std::random_device.
};

/// Where SQS calls go: `options.endpoint`, else AWS_ENDPOINT_URL_SQS, else
/// AWS_ENDPOINT_URL, else https://sqs.<region>.amazonaws.com (".com.cn" in China), else
/// (a queue URL on a host that is not AWS's) the queue URL's scheme and host.
std::string resolveSqsEndpoint(const SqsQueueOptions& options, const AwsEnvironment& env);

/// The SQS queue over the JSON protocol: POST to the endpoint with
/// "X-Amz-Target: AmazonSQS.ReceiveMessage" / "AmazonSQS.DeleteMessage",
/// "Content-Type: application/x-amz-json-1.0", signed with SigV4 (service "sqs"). Each
/// body is parsed with parseCloudEvent; a body whose MD5OfBody does not match is
/// reported as malformed. `clock` and `credentials` must outlive the queue; `logSink`
/// too when given.
Result<std::unique_ptr<InterruptionQueue>>
makeSqsInterruptionQueue(SqsQueueOptions options, std::shared_ptr<CredentialsSource> credentials,
                         const Clock& clock, const HttpClientFactory& httpFactory = {},
                         LogSink* logSink = nullptr);

/// As above, with the endpoint resolved from `env` and the default credential chain.
Result<std::unique_ptr<InterruptionQueue>>
makeSqsInterruptionQueue(SqsQueueOptions options, const AwsEnvironment& env, const Clock& clock,
                         const HttpClientFactory& httpFactory = {}, LogSink* logSink = nullptr);

} // namespace autoscale
