// The Env is public (promdir/env.h); this include keeps internal paths stable.
#include "promdir/env.h"  // IWYU pragma: export
