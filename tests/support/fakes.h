// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fakes behind the engine's interfaces: a provider with an instance table,
/// a scriptable queue and installer, and a store decorator that can crash.
/// They keep state in memory, record calls and can be told to fail.

#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>

#include <autoscale/installer.h>
#include <autoscale/provider.h>
#include <autoscale/queue.h>
#include <autoscale/store.h>

#include "fake_clock.h"

namespace autoscale::test {

/// Thrown by the crash hooks to stop the engine mid-operation.
struct Crash : std::runtime_error {
    Crash() : std::runtime_error("simulated crash") {}
};

/// Counts operations and throws Crash when the countdown reaches zero.
class CrashSwitch {
public:
    void armAfter(int operations) {
        const std::lock_guard lock(mutex_);
        countdown_ = operations;
    }
    void disarm() {
        const std::lock_guard lock(mutex_);
        countdown_ = -1;
    }
    void tick() {
        const std::lock_guard lock(mutex_);
        if (countdown_ < 0)
            return;
        if (countdown_-- == 0)
            throw Crash();
    }

private:
    std::mutex mutex_;
    int countdown_ = -1;
};

class FakeProvider final : public Provider {
public:
    explicit FakeProvider(const FakeClock& clock) : clock_(clock) {}

    Result<Instance> create(const CreateRequest& request) override {
        if (crash_ != nullptr)
            crash_->tick();
        std::function<std::optional<Error>(const CreateRequest&)> fault;
        {
            const std::lock_guard lock(mutex_);
            ++createCalls;
            requests.push_back(request);
            if (auto it = byToken_.find(request.clientToken); it != byToken_.end())
                return view(instances_.at(it->second));
            fault = createFault;
        }
        // Outside the lock: a fault may wait for another create to arrive.
        if (fault) {
            if (auto e = fault(request))
                return *e;
        }
        const std::lock_guard lock(mutex_);
        Instance i{.id = "i-" + std::to_string(1000 + nextId_++),
                   .serverName = request.serverName,
                   .state = InstanceState::Pending,
                   .instanceType = "t3.medium",
                   .zone = "us-east-1a",
                   .imageId = "ami-1",
                   .privateIp = "10.0.0." + std::to_string(nextId_),
                   .publicIp = "203.0.113." + std::to_string(nextId_),
                   .launchTime = clock_.now()};
        i.market = market;
        i.tags["drone-autoscaler:server"] = request.serverName;
        instances_[i.id] = i;
        byToken_[request.clientToken] = i.id;
        maxLive = std::max(maxLive, liveLocked());
        if (crash_ != nullptr)
            crash_->tick(); // A crash after RunInstances, before the id is stored.
        return view(i);
    }

    Result<std::vector<Instance>> list() override {
        if (crash_ != nullptr)
            crash_->tick();
        const std::lock_guard lock(mutex_);
        ++listCalls;
        if (listFault)
            return *listFault;
        std::vector<Instance> out;
        for (const auto& [id, i] : instances_) {
            const Instance v = view(i);
            if (v.state != InstanceState::Terminated)
                out.push_back(v);
        }
        return out;
    }

    Result<Instance> describe(const std::string& id) override {
        const std::lock_guard lock(mutex_);
        const auto it = instances_.find(id);
        if (it == instances_.end() || clock_.now() - it->second.launchTime < notVisibleFor)
            return makeError(Errc::NotFound, "InvalidInstanceID.NotFound: " + id);
        return view(it->second);
    }

    Result<void> destroy(std::span<const std::string> ids) override {
        if (crash_ != nullptr)
            crash_->tick();
        const std::lock_guard lock(mutex_);
        if (destroyFault)
            return *destroyFault;
        for (const auto& id : ids) {
            destroyed.push_back(id);
            if (auto it = instances_.find(id); it != instances_.end())
                it->second.state = InstanceState::Terminated;
        }
        return {};
    }

    /// Adds an instance created outside the engine (an orphan, a stray).
    Instance addInstance(const std::string& serverName) {
        const std::lock_guard lock(mutex_);
        Instance i{.id = "i-" + std::to_string(1000 + nextId_++),
                   .serverName = serverName,
                   .state = InstanceState::Running,
                   .privateIp = "10.0.9.9",
                   .publicIp = "203.0.113.99",
                   .launchTime = clock_.now() - std::chrono::hours{1}};
        instances_[i.id] = i;
        maxLive = std::max(maxLive, liveLocked());
        return i;
    }

    /// Terminates behind the engine's back (spot reclaim, a human).
    void vanish(const std::string& id, const std::string& stateReason = {}) {
        const std::lock_guard lock(mutex_);
        instances_.at(id).state = InstanceState::Terminated;
        instances_.at(id).stateReason = stateReason;
    }

    int live() const {
        const std::lock_guard lock(mutex_);
        return liveLocked();
    }
    std::vector<Instance> liveInstances() const {
        const std::lock_guard lock(mutex_);
        std::vector<Instance> out;
        for (const auto& [id, i] : instances_) {
            if (i.state != InstanceState::Terminated)
                out.push_back(view(i));
        }
        return out;
    }

    void setCrashSwitch(CrashSwitch* crash) { crash_ = crash; }

    std::vector<CoolingChoice> coolingDown() const override {
        const std::lock_guard lock(mutex_);
        return cooling;
    }

    std::chrono::seconds bootTime{30};
    std::chrono::seconds notVisibleFor{0};
    std::function<std::optional<Error>(const CreateRequest&)> createFault;
    std::optional<Error> listFault;
    std::optional<Error> destroyFault;
    int createCalls = 0;
    int listCalls = 0;
    int maxLive = 0;
    std::vector<CreateRequest> requests;
    std::vector<std::string> destroyed;
    /// Instance::market of what create() launches.
    std::string market = "on-demand";
    /// What coolingDown() answers (set it under no lock only while the engine is idle).
    std::vector<CoolingChoice> cooling;

private:
    Instance view(Instance i) const {
        if (i.state == InstanceState::Pending && clock_.now() - i.launchTime >= bootTime)
            i.state = InstanceState::Running;
        return i;
    }
    int liveLocked() const {
        int n = 0;
        for (const auto& [id, i] : instances_)
            n += i.state != InstanceState::Terminated ? 1 : 0;
        return n;
    }

    const FakeClock& clock_;
    mutable std::mutex mutex_;
    std::map<std::string, Instance> instances_;
    std::map<std::string, std::string> byToken_;
    int nextId_ = 1;
    CrashSwitch* crash_ = nullptr;
};

class FakeQueue final : public Queue {
public:
    Result<std::vector<Stage>> stages() override {
        const std::lock_guard lock(mutex_);
        ++calls;
        if (!scripted.empty()) {
            auto next = std::move(scripted.front());
            scripted.pop_front();
            return next;
        }
        if (error)
            return *error;
        return current;
    }
    void set(std::vector<Stage> stages) {
        const std::lock_guard lock(mutex_);
        current = std::move(stages);
    }

    std::vector<Stage> current;
    std::optional<Error> error;
    std::deque<Result<std::vector<Stage>>> scripted; ///< Answers before `current`.
    int calls = 0;

private:
    std::mutex mutex_;
};

class FakeInstaller final : public Installer {
public:
    Result<void> install(Server& server, const std::stop_token&) override {
        const std::lock_guard lock(mutex_);
        installed.push_back(server.name);
        if (installFault)
            return *installFault;
        return {};
    }
    Result<void> ping(const Server& server) override {
        const std::lock_guard lock(mutex_);
        pinged.push_back(server.name);
        if (unhealthy.contains(server.name))
            return makeError(Errc::NotFound, "agent container is not running");
        return {};
    }
    Result<void> drain(const Server& server) override {
        const std::lock_guard lock(mutex_);
        drained.push_back(server.name);
        return {};
    }

    std::optional<Error> installFault;
    std::set<std::string> unhealthy;
    std::vector<std::string> installed;
    std::vector<std::string> pinged;
    std::vector<std::string> drained;

private:
    std::mutex mutex_;
};

/// Forwards to a Store, ticking a CrashSwitch before every write, and counts
/// the listings read from it.
class CrashingStore final : public Store {
public:
    CrashingStore(Store& inner, CrashSwitch& crash) : inner_(inner), crash_(crash) {}
    Result<Server> insertWithin(const Server& s, const InsertCaps& caps) override {
        crash_.tick();
        return inner_.insertWithin(s, caps);
    }
    Result<Server> find(const std::string& name) override { return inner_.find(name); }
    Result<std::vector<Server>> list() override {
        ++listings;
        return inner_.list();
    }
    Result<std::vector<Server>> listPool(const std::string& pool) override {
        ++listings;
        return inner_.listPool(pool);
    }
    std::optional<std::uint64_t> changeCount() override { return inner_.changeCount(); }
    Result<Server> update(const Server& s) override {
        crash_.tick();
        return inner_.update(s);
    }
    Result<void> remove(const std::string& name, std::int64_t version) override {
        crash_.tick();
        return inner_.remove(name, version);
    }
    Result<int> purge(WallTime before) override { return inner_.purge(before); }
    Result<std::optional<std::string>> getValue(const std::string& key) override {
        return inner_.getValue(key);
    }
    Result<void> putValue(const std::string& key, const std::string& value) override {
        crash_.tick();
        return inner_.putValue(key, value);
    }

    std::atomic<int> listings{0}; ///< list() and listPool() calls.

private:
    Store& inner_;
    CrashSwitch& crash_;
};

} // namespace autoscale::test
