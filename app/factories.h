#pragma once

#include "pipeline/component.h"

namespace otlpd {

// The explicit list of every component type this build of otlpd knows.
Factories make_factories();

}  // namespace otlpd
