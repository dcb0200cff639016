// SPDX-License-Identifier: Apache-2.0
/// \file
/// FakeInterruptionQueue: an InterruptionQueue in memory for engine tests. Tests push
/// notices (or raw bodies, parsed as the SQS queue parses them); receive() returns what
/// is queued at once, never blocks, and can be scripted to fail; remove() records the
/// receipt handles and drops the messages.

#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <autoscale/interruptions.h>

namespace autoscale::test {

class FakeInterruptionQueue final : public InterruptionQueue {
public:
    FakeInterruptionQueue() = default;

    /// Queues one message holding these notices; returns its receipt handle.
    std::string push(std::vector<CloudNotice> notices);
    /// Queues one message with this EventBridge body, parsed by parseCloudEvent.
    std::string pushBody(const std::string& body);
    /// The next receive() (or remove()) fails with this error.
    void failNextReceive(Error error);
    void failNextRemove(Error error);

    /// Every queued message not yet removed is returned by each receive() (SQS would
    /// hide it for the visibility timeout; the fake keeps it simple and visible).
    Result<std::vector<QueueMessage>> receive(const std::stop_token& stop) override;
    Result<void> remove(const std::string& receiptHandle) override;

    [[nodiscard]] std::vector<std::string> removed() const;
    [[nodiscard]] std::size_t pending() const;
    [[nodiscard]] int receives() const;

private:
    mutable std::mutex mutex_;
    std::vector<QueueMessage> messages_;
    std::deque<Error> receiveFaults_;
    std::deque<Error> removeFaults_;
    std::vector<std::string> removed_;
    int receives_ = 0;
    int next_ = 1;
};

} // namespace autoscale::test
