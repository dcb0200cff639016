// SPDX-License-Identifier: Apache-2.0
/// \file
/// A small SQS client on the JSON protocol (private to libautoscale, public to tests):
/// request bodies, reply parsing, error classification, and SqsClient, which signs each
/// attempt with SigV4 (service "sqs") and retries in standard mode like Ec2Client.

#pragma once

#include <chrono>
#include <cstdint>
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

#include "retry.h"
#include "signed_call.h"
#include "sigv4.h"

namespace autoscale::aws {

/// botocore's SQS model: protocol "json", jsonVersion 1.0, targetPrefix "AmazonSQS".
inline constexpr const char* kSqsContentType = "application/x-amz-json-1.0";
inline constexpr const char* kSqsTargetPrefix = "AmazonSQS.";

/// ReceiveMessage's input.
struct ReceiveMessageRequest {
    std::string queueUrl{};
    int maxNumberOfMessages = 10;
    int waitTimeSeconds = 20;
    int visibilityTimeout = 0; ///< 0: not sent (the queue's own).
};

/// One message of a ReceiveMessage reply.
struct SqsMessage {
    std::string messageId{};
    std::string receiptHandle{};
    std::string md5OfBody{};
    std::string body{};
};

/// The JSON body of a ReceiveMessage request.
std::string receiveMessageBody(const ReceiveMessageRequest& request);
/// The JSON body of a DeleteMessage request.
std::string deleteMessageBody(std::string_view queueUrl, std::string_view receiptHandle);
/// Parses a ReceiveMessage reply ({} or {"Messages": [...]}). Errc::Parse otherwise.
Result<std::vector<SqsMessage>> parseReceiveMessage(std::string_view body);
/// Lower-case hex MD5 of `data` (SQS's MD5OfBody).
std::string md5Hex(std::string_view data);

/// The error code of a JSON-protocol error reply: "__type" (or "code") after its last
/// '#', e.g. "QueueDoesNotExist"; empty when the body has none.
std::string sqsErrorCode(std::string_view body);
/// Errc for an SQS error code and HTTP status.
Errc sqsErrc(std::string_view code, int status);
/// A non-2xx reply as an Error: kind, SQS code (also in the message), request id
/// (x-amzn-RequestId), status.
Error classifySqsReply(std::string_view operation, const HttpResponse& response);

struct SqsClientOptions {
    std::string endpoint{}; ///< "https://sqs.us-east-1.amazonaws.com" or a loopback fake.
    std::string region = "us-east-1";
    RetrySettings retry{};
    std::uint64_t seed = 1;
    std::string userAgent = "autoscale/0.1";
};

/// Thread-compatible: one caller at a time (it uses one HttpClient). Borrows `http`,
/// `credentials`, `clock` and `logger`'s sink, which must outlive it.
class SqsClient {
public:
    SqsClient(SqsClientOptions options, HttpClient& http, CredentialsSource& credentials,
              const Clock& clock, Logger logger);

    /// One operation ("ReceiveMessage") with retries; the body of the 2xx reply.
    /// `stop` cuts retry sleeps short (the last error is returned).
    [[nodiscard]] Result<std::string> call(std::string_view operation, const std::string& body,
                                           const std::stop_token& stop);

    [[nodiscard]] const RetryPolicy& retryPolicy() const { return caller_.retryPolicy(); }

private:
    SignedCaller caller_;
};

} // namespace autoscale::aws
