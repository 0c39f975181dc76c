// PostgresStore's schema: numbered migrations applied under an advisory lock.
#pragma once
#include "store/postgres/pg_conn.h"

namespace varg::pg {
Status migrate(Conn& c);
}
