// SPDX-License-Identifier: Apache-2.0
/// \file
/// What makes a daemon act only while it leads (SPEC §4 invariant 6, §8): a
/// Store whose every write is fenced by the current term's epoch, and a
/// Provider that refuses to create or terminate unless the election confirms
/// this daemon still leads. Reads pass through on both.

#pragma once

#include <memory>

#include <autoscale/leader.h>
#include <autoscale/postgres_store.h>
#include <autoscale/provider.h>
#include <autoscale/store.h>

namespace autoscale {

/// The engine's store with several daemons: reads from `store`; each write
/// goes through store.fencedBy(election.epoch(), election.guard), so it fails
/// with Errc::NotLeader (never retried) unless this daemon leads, has
/// confirmed within its deadline and the stored epoch is still its own, all
/// checked in the write's transaction. Borrows both.
std::unique_ptr<Store> makeLeaderFencedStore(PostgresStore& store, const LeaderElection& election);

/// Forwards to `inner`; create() and destroy() first ask election.guard() and
/// answer Errc::NotLeader without calling the cloud when it refuses, and
/// create() tags the instance with the current epoch. Borrows both.
class LeaderGuardedProvider final : public Provider {
public:
    LeaderGuardedProvider(Provider& inner, const LeaderElection& election)
        : inner_(inner)
        , election_(election) {}
    Result<Instance> create(const CreateRequest& request) override;
    Result<std::vector<Instance>> list() override;
    Result<Instance> describe(const std::string& id) override;
    Result<void> destroy(std::span<const std::string> ids) override;
    [[nodiscard]] std::vector<CoolingChoice> coolingDown() const override;

private:
    Provider& inner_;
    const LeaderElection& election_;
};

} // namespace autoscale
