// SPDX-License-Identifier: Apache-2.0
/// \file
/// openStore: the store implementation DRONE_DATABASE_DRIVER names.

#include <autoscale/sqlite_store.h>

#include "autoscale/store.h"

namespace autoscale {

Result<std::unique_ptr<Store>> openStore(const StoreSettings& settings, StoreAccess access) {
    if (settings.driver != "sqlite3") {
        return makeError(Errc::InvalidArgument, "DRONE_DATABASE_DRIVER: \"" + settings.driver +
                                                        "\" is not available in this build; "
                                                        "expected sqlite3");
    }
    return openSqliteStore({.path = sqlitePathFromDatasource(settings.datasource),
                            .readOnly = access == StoreAccess::ReadOnly});
}

} // namespace autoscale
