// SPDX-License-Identifier: Apache-2.0
/// \file
/// openStore: the store implementation DRONE_DATABASE_DRIVER names.

#include <autoscale/postgres_store.h>
#include <autoscale/sqlite_store.h>

#include "autoscale/store.h"

namespace autoscale {

Result<std::unique_ptr<Store>> openStore(const StoreSettings& settings, StoreAccess access) {
    if (settings.driver == "postgres") {
        auto store = openPostgresStore(
                {.dsn = settings.datasource, .readOnly = access == StoreAccess::ReadOnly});
        if (!store)
            return store.error();
        return std::unique_ptr<Store>(std::move(*store));
    }
    if (settings.driver != "sqlite3") {
        return makeError(Errc::InvalidArgument, "DRONE_DATABASE_DRIVER: \"" + settings.driver +
                                                        "\" is not available in this build; "
                                                        "expected sqlite3 or postgres");
    }
    return openSqliteStore({.path = sqlitePathFromDatasource(settings.datasource),
                            .readOnly = access == StoreAccess::ReadOnly});
}

} // namespace autoscale
