#pragma once

#include <cstddef>
#include <utility>

#include "otlp/request.h"

namespace otlpd {

// Splits a request in two: the first holds its first `items` spans / log records (for
// metrics: whole metrics, as many as fit in `items` data points, at least one), the second
// the rest; resource and scope are repeated in both halves. This copies the moved items and
// is only used when a single request is larger than a batch may be (send_batch_max_size).
std::pair<RequestPtr, RequestPtr> split_request(const Request& request, std::size_t items);

}  // namespace otlpd
