// SPDX-License-Identifier: Apache-2.0
/// \file
/// FakeInterruptionQueue.

#include "fake_interruption_queue.h"

#include <algorithm>

namespace autoscale::test {

std::string FakeInterruptionQueue::push(std::vector<CloudNotice> notices) {
    const std::lock_guard lock(mutex_);
    const std::string id = std::to_string(next_++);
    messages_.push_back(QueueMessage{
            .messageId = "msg-" + id, .receiptHandle = "rh-" + id, .notices = std::move(notices)});
    return messages_.back().receiptHandle;
}

std::string FakeInterruptionQueue::pushBody(const std::string& body) {
    const auto event = parseCloudEvent(body);
    const std::lock_guard lock(mutex_);
    const std::string id = std::to_string(next_++);
    QueueMessage message{.messageId = "msg-" + id, .receiptHandle = "rh-" + id};
    if (!event) {
        message.problem = "malformed: " + event.error().message;
    } else {
        message.notices = event->notices;
        if (message.notices.empty())
            message.problem = "ignored: " + event->ignored;
    }
    messages_.push_back(std::move(message));
    return messages_.back().receiptHandle;
}

void FakeInterruptionQueue::failNextReceive(Error error) {
    const std::lock_guard lock(mutex_);
    receiveFaults_.push_back(std::move(error));
}

void FakeInterruptionQueue::failNextRemove(Error error) {
    const std::lock_guard lock(mutex_);
    removeFaults_.push_back(std::move(error));
}

Result<std::vector<QueueMessage>> FakeInterruptionQueue::receive(const std::stop_token& stop) {
    const std::lock_guard lock(mutex_);
    ++receives_;
    if (!receiveFaults_.empty()) {
        Error error = std::move(receiveFaults_.front());
        receiveFaults_.pop_front();
        return error;
    }
    if (stop.stop_requested())
        return std::vector<QueueMessage>{};
    return messages_;
}

Result<void> FakeInterruptionQueue::remove(const std::string& receiptHandle) {
    const std::lock_guard lock(mutex_);
    if (!removeFaults_.empty()) {
        Error error = std::move(removeFaults_.front());
        removeFaults_.pop_front();
        return error;
    }
    removed_.push_back(receiptHandle);
    std::erase_if(messages_,
                  [&](const QueueMessage& m) { return m.receiptHandle == receiptHandle; });
    return {};
}

std::vector<std::string> FakeInterruptionQueue::removed() const {
    const std::lock_guard lock(mutex_);
    return removed_;
}

std::size_t FakeInterruptionQueue::pending() const {
    const std::lock_guard lock(mutex_);
    return messages_.size();
}

int FakeInterruptionQueue::receives() const {
    const std::lock_guard lock(mutex_);
    return receives_;
}

} // namespace autoscale::test
