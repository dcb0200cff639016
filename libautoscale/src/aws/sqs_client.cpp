// SPDX-License-Identifier: Apache-2.0
/// \file
/// SqsClient (sign, send, classify, retry) and the SQS InterruptionQueue on it. The wire
/// format is botocore's SQS model (protocol "json", jsonVersion 1.0, targetPrefix
/// "AmazonSQS"): POST "/" with the operation in X-Amz-Target and the input as a JSON
/// object whose member names are the model's.

#include "sqs_client.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <random>
#include <utility>

#include <openssl/evp.h>

#include <autoscale/interruptions.h>

#include "core/json_text.h"
#include "core/json_value.h"
#include "core/text.h"
#include "ec2_api.h"

namespace autoscale {

InterruptionQueue::~InterruptionQueue() = default;

namespace aws {

namespace {

/// The Errc of the codes SQS (and the AWS JSON front end) return, before the status
/// fallbacks. Codes are the "__type" suffixes botocore reports.
Errc knownSqsErrc(std::string_view code, bool& known) {
    known = true;
    if (isThrottlingCode(code) || code == "KmsThrottled" || code == "RequestThrottled")
        return Errc::Throttled;
    if (code == "QueueDoesNotExist" || code == "AWS.SimpleQueueService.NonExistentQueue" ||
        code == "ResourceNotFoundException")
        return Errc::NotFound;
    if (code == "AccessDenied" || code == "AccessDeniedException" || code == "KmsAccessDenied" ||
        code == "KmsDisabled" || code == "KmsNotFound" || code == "KmsInvalidState")
        return Errc::Forbidden;
    if (code == "InvalidSignatureException" || code == "UnrecognizedClientException" ||
        code == "IncompleteSignatureException" || code == "MissingAuthenticationTokenException" ||
        code == "ExpiredTokenException" || isAuthCode(code))
        return Errc::Unauthorized;
    if (code == "ReceiptHandleIsInvalid" || code == "InvalidAddress" ||
        code == "InvalidParameterValue" || code == "InvalidParameterValueException" ||
        code == "ValidationException" || code == "InvalidSecurity" ||
        code == "UnsupportedOperation")
        return Errc::InvalidArgument;
    if (code == "InternalError" || code == "InternalFailure" || code == "ServiceUnavailable" ||
        code == "RequestTimeout" || code == "RequestTimeoutException")
        return Errc::Unavailable;
    known = false;
    return Errc::Internal;
}

std::string hint(Errc code) {
    switch (code) {
    case Errc::Unauthorized:
        return "check the AWS credentials and the host's clock";
    case Errc::Forbidden:
        return "the credentials need sqs:ReceiveMessage and sqs:DeleteMessage on the queue";
    case Errc::NotFound:
        return "check DRONE_AMAZON_INTERRUPTION_QUEUE and its region";
    case Errc::InvalidArgument:
    case Errc::Transport:
    case Errc::Timeout:
    case Errc::AlreadyExists:
    case Errc::Conflict:
    case Errc::NotLeader:
    case Errc::Throttled:
    case Errc::Unavailable:
    case Errc::Capacity:
    case Errc::LimitReached:
    case Errc::Parse:
    case Errc::Io:
    case Errc::HostKey:
    case Errc::Unsupported:
    case Errc::Internal:
        return {};
    }
    return {};
}

} // namespace

std::string receiveMessageBody(const ReceiveMessageRequest& request) {
    std::string body = "{\"QueueUrl\":" + detail::jsonQuote(request.queueUrl) +
                       ",\"MaxNumberOfMessages\":" + std::to_string(request.maxNumberOfMessages) +
                       ",\"WaitTimeSeconds\":" + std::to_string(request.waitTimeSeconds);
    if (request.visibilityTimeout > 0)
        body += ",\"VisibilityTimeout\":" + std::to_string(request.visibilityTimeout);
    return body + "}";
}

std::string deleteMessageBody(std::string_view queueUrl, std::string_view receiptHandle) {
    return "{\"QueueUrl\":" + detail::jsonQuote(queueUrl) +
           ",\"ReceiptHandle\":" + detail::jsonQuote(receiptHandle) + "}";
}

Result<std::vector<SqsMessage>> parseReceiveMessage(std::string_view body) {
    auto doc = detail::parseJsonDocument(body, "the SQS ReceiveMessage reply");
    if (!doc)
        return doc.error();
    if (!doc->IsObject())
        return makeError(Errc::Parse, "the SQS ReceiveMessage reply is not a JSON object");
    std::vector<SqsMessage> out;
    auto messages = std::as_const(*doc).FindMember("Messages");
    if (messages == std::as_const(*doc).MemberEnd() || messages->value.IsNull())
        return out;
    if (!messages->value.IsArray())
        return makeError(Errc::Parse, "the SQS ReceiveMessage reply's Messages is not a list");
    for (const auto& item : messages->value.GetArray()) {
        if (!item.IsObject())
            return makeError(Errc::Parse, "an SQS message is not a JSON object");
        SqsMessage message{.messageId = detail::jsonString(item, "MessageId"),
                           .receiptHandle = detail::jsonString(item, "ReceiptHandle"),
                           .md5OfBody = detail::jsonString(item, "MD5OfBody"),
                           .body = detail::jsonString(item, "Body")};
        if (message.receiptHandle.empty())
            return makeError(Errc::Parse, "an SQS message has no ReceiptHandle");
        out.push_back(std::move(message));
    }
    return out;
}

std::string md5Hex(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_md5(), nullptr) != 1)
        return {};
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4U];
        out += kHex[digest[i] & 0xFU];
    }
    return out;
}

std::string sqsErrorCode(std::string_view body) {
    rapidjson::Document doc;
    if (detail::parseJsonInto(body, doc) || !doc.IsObject())
        return {};
    std::string code = detail::jsonString(doc, "__type");
    if (code.empty())
        code = detail::jsonString(doc, "code");
    if (const auto hash = code.rfind('#'); hash != std::string::npos)
        code.erase(0, hash + 1);
    if (const auto colon = code.find(':'); colon != std::string::npos)
        code.erase(colon);
    return code;
}

Errc sqsErrc(std::string_view code, int status) {
    bool known = false;
    const Errc kind = knownSqsErrc(code, known);
    if (known)
        return kind;
    if (status == 429)
        return Errc::Throttled;
    if (status >= 500)
        return Errc::Unavailable;
    if (status == 401)
        return Errc::Unauthorized;
    if (status == 403)
        return Errc::Forbidden;
    if (status == 404)
        return Errc::NotFound;
    return Errc::InvalidArgument;
}

Error classifySqsReply(std::string_view operation, const HttpResponse& response) {
    Error error;
    error.httpStatus = response.status;
    error.requestId = response.header("x-amzn-requestid");
    error.serviceCode = sqsErrorCode(response.body);
    error.code = sqsErrc(error.serviceCode, response.status);
    error.message = "sqs " + std::string(operation) + ": ";
    if (error.serviceCode.empty()) {
        error.message += "HTTP " + std::to_string(response.status) + " without an error body";
    } else {
        error.message += error.serviceCode;
        rapidjson::Document doc;
        if (!detail::parseJsonInto(response.body, doc) && doc.IsObject()) {
            std::string text = detail::jsonString(doc, "message");
            if (text.empty())
                text = detail::jsonString(doc, "Message");
            if (!text.empty())
                error.message += ": " + text.substr(0, 300);
        }
    }
    // The Query-protocol code SQS also sends ("AWS.SimpleQueueService.NonExistentQueue").
    if (const std::string query = response.header("x-amzn-query-error"); !query.empty())
        error.message += " [" + query.substr(0, query.find(';')) + "]";
    if (const std::string advice = hint(error.code); !advice.empty())
        error.message += " (" + advice + ")";
    return error;
}

SqsClient::SqsClient(SqsClientOptions options, HttpClient& http, CredentialsSource& credentials,
                     const Clock& clock, Logger logger)
    : caller_(std::move(options.endpoint), std::move(options.region), std::move(options.userAgent),
              options.retry, options.seed, http, credentials, clock, std::move(logger)) {
}

Result<std::string> SqsClient::call(std::string_view operation, const std::string& body,
                                    const std::stop_token& stop) {
    return caller_.call(
            SignedCall{.service = "sqs",
                       .name = operation,
                       .logKey = "operation",
                       .headers = {{"Content-Type", kSqsContentType},
                                   {"X-Amz-Target", kSqsTargetPrefix + std::string(operation)}},
                       .body = body,
                       .classify =
                               [operation](const HttpResponse& reply) {
                                   return classifySqsReply(operation, reply);
                               },
                       .authFailure =
                               [](const Error& error) {
                                   if (error.serviceCode == "RequestExpired" ||
                                       (error.serviceCode == "InvalidSignatureException" &&
                                        error.message.find("expired") != std::string::npos))
                                       return AuthFailure::Expired;
                                   if (error.serviceCode == "ExpiredToken" ||
                                       error.serviceCode == "ExpiredTokenException")
                                       return AuthFailure::StaleToken;
                                   return AuthFailure::None;
                               }},
            stop);
}

} // namespace aws

namespace {

bool isLoopbackHost(std::string_view host) {
    return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

struct UrlParts {
    std::string scheme{};
    std::string host{}; ///< Without the port, lower-case.
    std::string authority{};
    std::string path{};
};

UrlParts splitUrl(std::string_view url) {
    UrlParts parts;
    const auto schemeEnd = url.find("://");
    if (schemeEnd == std::string_view::npos)
        return parts;
    parts.scheme = detail::lower(url.substr(0, schemeEnd));
    const std::string_view rest = url.substr(schemeEnd + 3);
    const auto pathStart = rest.find_first_of("/?#");
    parts.authority = std::string(rest.substr(0, pathStart));
    parts.path = pathStart == std::string_view::npos ? "" : std::string(rest.substr(pathStart));
    std::string host = parts.authority;
    if (host.starts_with('[')) {
        host = host.substr(0, host.find(']') + 1);
    } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
        host.erase(colon);
    }
    parts.host = detail::lower(host);
    return parts;
}

bool isAwsSqsHost(std::string_view host) {
    return host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
}

using aws::SqsClient;

/// One SqsClient with the HttpClient it uses and the mutex that serializes it.
struct Channel {
    std::unique_ptr<HttpClient> http;
    std::unique_ptr<SqsClient> client;
    std::mutex mutex;
};

class SqsInterruptionQueue final : public InterruptionQueue {
public:
    SqsInterruptionQueue(SqsQueueOptions options, std::shared_ptr<CredentialsSource> credentials,
                         std::unique_ptr<LogSink> ownSink, Logger logger)
        : options_(std::move(options))
        , credentials_(std::move(credentials))
        , ownSink_(std::move(ownSink))
        , logger_(std::move(logger)) {}

    Result<std::vector<QueueMessage>> receive(const std::stop_token& stop) override {
        if (stop.stop_requested())
            return std::vector<QueueMessage>{};
        const std::lock_guard lock(receiving.mutex);
        const std::string body = aws::receiveMessageBody(
                {.queueUrl = options_.queueUrl,
                 .maxNumberOfMessages = options_.maxMessages,
                 .waitTimeSeconds = static_cast<int>(options_.waitTime.count()),
                 .visibilityTimeout = static_cast<int>(options_.visibilityTimeout.count())});
        auto reply = receiving.client->call("ReceiveMessage", body, stop);
        if (!reply)
            return reply.error();
        auto messages = aws::parseReceiveMessage(*reply);
        if (!messages)
            return messages.error();
        std::vector<QueueMessage> out;
        out.reserve(messages->size());
        for (auto& message : *messages) {
            QueueMessage item{.messageId = message.messageId,
                              .receiptHandle = std::move(message.receiptHandle)};
            if (!message.md5OfBody.empty() &&
                detail::lower(message.md5OfBody) != aws::md5Hex(message.body)) {
                item.problem = "malformed: MD5OfBody does not match the body";
            } else if (auto event = parseCloudEvent(message.body); !event) {
                item.problem = "malformed: " + event.error().message;
            } else {
                item.notices = std::move(event->notices);
                if (item.notices.empty())
                    item.problem = "ignored: " + event->ignored;
            }
            if (!item.problem.empty()) {
                logger_.debug("message without notices",
                              {{"message_id", item.messageId}, {"why", item.problem}});
            }
            out.push_back(std::move(item));
        }
        return out;
    }

    CredentialsSource& credentialsSource() { return *credentials_; }

    Result<void> remove(const std::string& receiptHandle) override {
        const std::lock_guard lock(removing.mutex);
        auto reply = removing.client->call("DeleteMessage",
                                           aws::deleteMessageBody(options_.queueUrl, receiptHandle),
                                           std::stop_token{});
        if (!reply)
            return reply.error();
        return {};
    }

private:
    SqsQueueOptions options_;
    std::shared_ptr<CredentialsSource> credentials_;
    std::unique_ptr<LogSink> ownSink_;
    Logger logger_;

public:
    // Last: destroyed first, before the credentials and the sink their clients borrow.
    Channel receiving;
    Channel removing;
};

} // namespace

Result<void> validateQueueUrl(std::string_view url) {
    if (url.empty())
        return {};
    const UrlParts parts = splitUrl(url);
    const std::string quoted = "\"" + std::string(url.substr(0, 200)) + "\"";
    if (parts.scheme != "https" && !(parts.scheme == "http" && isLoopbackHost(parts.host))) {
        return makeError(Errc::InvalidArgument,
                         quoted + " is not an https URL (http only for a loopback host)");
    }
    if (parts.host.empty())
        return makeError(Errc::InvalidArgument, quoted + " has no host");
    if (url.find_first_of("?# \t\r\n") != std::string_view::npos)
        return makeError(Errc::InvalidArgument, quoted + " has a query, fragment or space");
    // "/<account>/<queue name>": a 12-digit account and 1 to 80 of [A-Za-z0-9_-] (".fifo").
    const std::string& path = parts.path;
    const auto second = path.size() > 1 ? path.find('/', 1) : std::string::npos;
    const std::string account =
            second == std::string::npos ? std::string() : path.substr(1, second - 1);
    const std::string name = second == std::string::npos ? std::string() : path.substr(second + 1);
    const bool accountOk = account.size() == 12 && std::ranges::all_of(account, [](char c) {
                               return c >= '0' && c <= '9';
                           });
    const bool nameOk = !name.empty() && name.size() <= 80 && std::ranges::all_of(name, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
    if (!path.starts_with('/') || !accountOk || !nameOk) {
        return makeError(Errc::InvalidArgument,
                         quoted + " is not a queue URL; expected "
                                  "https://sqs.<region>.amazonaws.com/<12-digit account>/<queue>");
    }
    return {};
}

std::string sqsRegionOf(std::string_view queueUrl) {
    const std::string host = splitUrl(queueUrl).host;
    std::string_view rest = host;
    if (rest == "queue.amazonaws.com")
        return "us-east-1";
    if (rest.ends_with(".amazonaws.com.cn")) {
        rest.remove_suffix(std::string_view(".amazonaws.com.cn").size());
    } else if (rest.ends_with(".amazonaws.com")) {
        rest.remove_suffix(std::string_view(".amazonaws.com").size());
    } else {
        return {};
    }
    if (rest.starts_with("sqs.") || rest.starts_with("sqs-fips.")) {
        rest.remove_prefix(rest.find('.') + 1);
        return rest.find('.') == std::string_view::npos ? std::string(rest) : std::string();
    }
    if (rest.ends_with(".queue")) {
        rest.remove_suffix(std::string_view(".queue").size());
        return rest.find('.') == std::string_view::npos ? std::string(rest) : std::string();
    }
    return {};
}

std::string resolveSqsEndpoint(const SqsQueueOptions& options, const AwsEnvironment& env) {
    if (!options.endpoint.empty())
        return options.endpoint;
    if (!env.endpointSqs.empty())
        return env.endpointSqs;
    if (!env.endpoint.empty())
        return env.endpoint;
    const UrlParts parts = splitUrl(options.queueUrl);
    if (!parts.host.empty() && !isAwsSqsHost(parts.host))
        return parts.scheme + "://" + parts.authority;
    std::string region = options.region;
    if (region.empty())
        region = sqsRegionOf(options.queueUrl);
    if (region.empty())
        region = options.fallbackRegion;
    if (region.starts_with("cn-"))
        return "https://sqs." + region + ".amazonaws.com.cn";
    return "https://sqs." + region + ".amazonaws.com";
}

Result<std::unique_ptr<InterruptionQueue>>
makeSqsInterruptionQueue(SqsQueueOptions options, std::shared_ptr<CredentialsSource> credentials,
                         const Clock& clock, const HttpClientFactory& httpFactory,
                         LogSink* logSink) {
    if (!credentials)
        return makeError(Errc::InvalidArgument, "sqs queue: no credentials source");
    if (options.queueUrl.empty()) {
        return makeError(Errc::InvalidArgument,
                         "sqs queue: DRONE_AMAZON_INTERRUPTION_QUEUE is empty");
    }
    if (auto valid = validateQueueUrl(options.queueUrl); !valid)
        return valid.error();
    if (options.waitTime < std::chrono::seconds(0) || options.waitTime > std::chrono::seconds(20))
        return makeError(Errc::InvalidArgument, "sqs queue: the wait time must be 0 to 20 s");
    if (options.maxMessages < 1 || options.maxMessages > 10)
        return makeError(Errc::InvalidArgument, "sqs queue: at most 1 to 10 messages a call");
    if (options.region.empty())
        options.region = sqsRegionOf(options.queueUrl);
    if (options.region.empty())
        options.region = options.fallbackRegion;
    if (options.retry.maxAttempts <= 0)
        options.retry.maxAttempts = 3;
    const std::string endpoint = resolveSqsEndpoint(options, AwsEnvironment{});
    if (!endpoint.starts_with("https://") && !endpoint.starts_with("http://")) {
        return makeError(Errc::InvalidArgument,
                         "sqs queue: endpoint " + endpoint + " is not an http(s) URL");
    }
    std::unique_ptr<LogSink> ownSink;
    if (logSink == nullptr) {
        ownSink = std::make_unique<NullSink>();
        logSink = ownSink.get();
    }
    Logger logger(*logSink, clock, "sqs", LogLevel::Debug);
    const std::string protocols = endpoint.starts_with("http://") ? "http" : "https";
    const auto make = [&](std::chrono::milliseconds total) {
        HttpOptions http{.connectTimeout = options.connectTimeout,
                         .totalTimeout = total,
                         .protocols = protocols};
        return httpFactory ? httpFactory(http) : makeCurlHttpClient(http);
    };
    auto receiveHttp =
            make(std::chrono::duration_cast<std::chrono::milliseconds>(options.waitTime) +
                 options.requestSlack);
    if (!receiveHttp)
        return receiveHttp.error();
    auto removeHttp = make(options.requestSlack);
    if (!removeHttp)
        return removeHttp.error();
    std::uint64_t seed = options.seed;
    if (seed == 0)
        seed = std::random_device{}();
    auto queue = std::make_unique<SqsInterruptionQueue>(options, std::move(credentials),
                                                        std::move(ownSink), logger);
    CredentialsSource& source = queue->credentialsSource();
    const aws::SqsClientOptions clientOptions{
            .endpoint = endpoint, .region = options.region, .retry = options.retry, .seed = seed};
    queue->receiving.http = std::move(*receiveHttp);
    queue->receiving.client = std::make_unique<SqsClient>(clientOptions, *queue->receiving.http,
                                                          source, clock, logger);
    auto removeOptions = clientOptions;
    removeOptions.seed = seed + 1;
    queue->removing.http = std::move(*removeHttp);
    queue->removing.client = std::make_unique<SqsClient>(removeOptions, *queue->removing.http,
                                                         source, clock, logger);
    return std::unique_ptr<InterruptionQueue>(std::move(queue));
}

Result<std::unique_ptr<InterruptionQueue>>
makeSqsInterruptionQueue(SqsQueueOptions options, const AwsEnvironment& env, const Clock& clock,
                         const HttpClientFactory& httpFactory, LogSink* logSink) {
    options.endpoint = resolveSqsEndpoint(options, env);
    std::string region = options.region.empty() ? sqsRegionOf(options.queueUrl) : options.region;
    if (region.empty())
        region = options.fallbackRegion;
    auto chain = makeDefaultCredentialChain(env, clock,
                                            CredentialChainOptions{.region = region,
                                                                   .httpFactory = httpFactory,
                                                                   .logSink = logSink});
    if (!chain)
        return chain.error();
    return makeSqsInterruptionQueue(std::move(options),
                                    std::shared_ptr<CredentialsSource>(std::move(*chain)), clock,
                                    httpFactory, logSink);
}

} // namespace autoscale
