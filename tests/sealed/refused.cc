// Must NOT compile with any binary's include path (tests/sealed.cmake):
// binaries and benchmarks use the installed headers (promdir/...) only.
#include "lib/src/env.h"

int SealedProbe() { return 0; }
