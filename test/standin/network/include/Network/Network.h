/* The stand-in build uses the same declarations check:mac compiles
 * network.c against (test/fixtures/macos: written for ostls from Apple's
 * documented C API). */
#include "../../../../fixtures/macos/Network.framework/Headers/Network.h"
