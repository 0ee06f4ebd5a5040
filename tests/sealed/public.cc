// Must compile with every binary's include path (tests/sealed.cmake): the
// public headers are all a binary needs.
#include "promdir/directory.h"
#include "promdir/promdir.h"
#include "promdir/text.h"

int SealedProbe() { return promdir::DirectoryFromEnvironment().empty(); }
