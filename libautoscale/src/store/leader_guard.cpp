// SPDX-License-Identifier: Apache-2.0
/// \file
/// The fenced store and the guarded provider of a daemon that shares its
/// store with others (leader_guard.h).

#include "autoscale/leader_guard.h"

namespace autoscale {

namespace {

class LeaderFencedStore final : public Store {
public:
    LeaderFencedStore(PostgresStore& store, const LeaderElection& election)
        : store_(store)
        , election_(election) {}

    Result<Server> insertWithin(const Server& server, const InsertCaps& caps) override {
        auto view = fenced();
        if (!view)
            return view.error();
        return (*view)->insertWithin(server, caps);
    }
    Result<Server> find(const std::string& name) override { return store_.find(name); }
    Result<std::vector<Server>> list() override { return store_.list(); }
    std::optional<std::uint64_t> changeCount() override { return store_.changeCount(); }
    Result<Server> update(const Server& server) override {
        auto view = fenced();
        if (!view)
            return view.error();
        return (*view)->update(server);
    }
    Result<void> remove(const std::string& name, std::int64_t version) override {
        auto view = fenced();
        if (!view)
            return view.error();
        return (*view)->remove(name, version);
    }
    Result<int> purge(WallTime before) override {
        auto view = fenced();
        if (!view)
            return view.error();
        return (*view)->purge(before);
    }
    Result<std::optional<std::string>> getValue(const std::string& key) override {
        return store_.getValue(key);
    }
    Result<void> putValue(const std::string& key, const std::string& value) override {
        auto view = fenced();
        if (!view)
            return view.error();
        return (*view)->putValue(key, value);
    }

private:
    Result<std::unique_ptr<Store>> fenced() {
        const std::int64_t epoch = election_.epoch();
        if (epoch == 0) {
            return makeError(Errc::NotLeader,
                             "this daemon is not the leader: its write is refused");
        }
        const LeaderElection* election = &election_;
        return store_.fencedBy(epoch, [election] { return election->guard(); });
    }

    PostgresStore& store_;
    const LeaderElection& election_;
};

} // namespace

std::unique_ptr<Store> makeLeaderFencedStore(PostgresStore& store, const LeaderElection& election) {
    return std::make_unique<LeaderFencedStore>(store, election);
}

Result<Instance> LeaderGuardedProvider::create(const CreateRequest& request) {
    if (auto ok = election_.guard(); !ok)
        return ok.error();
    CreateRequest tagged = request;
    tagged.epoch = election_.epoch();
    return inner_.create(tagged);
}

Result<std::vector<Instance>> LeaderGuardedProvider::list() {
    return inner_.list();
}

Result<Instance> LeaderGuardedProvider::describe(const std::string& id) {
    return inner_.describe(id);
}

Result<void> LeaderGuardedProvider::destroy(std::span<const std::string> ids) {
    if (auto ok = election_.guard(); !ok)
        return ok.error();
    return inner_.destroy(ids);
}

std::vector<CoolingChoice> LeaderGuardedProvider::coolingDown() const {
    return inner_.coolingDown();
}

} // namespace autoscale
