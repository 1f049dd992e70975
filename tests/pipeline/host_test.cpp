#include <gtest/gtest.h>

#include "pipeline/host.h"

namespace otlpd {
namespace {

struct Store {
  int value = 0;
};
struct Other {};

TEST(Host, FindsWhatAComponentProvidesByIdAndType) {
  Host host;
  auto store = std::make_shared<Store>(Store{7});
  host.provide<const Store>("trace_store/a", store);
  ASSERT_TRUE(host.find<const Store>("trace_store/a"));
  EXPECT_EQ(host.find<const Store>("trace_store/a")->value, 7);
  EXPECT_FALSE(host.find<const Store>("trace_store/b"));  // another id
  EXPECT_FALSE(host.find<const Other>("trace_store/a"));  // another type
  EXPECT_FALSE(host.find<Store>("trace_store/a"));        // provided as const only
  // What was found stays alive after the provider lets go of it.
  auto found = host.find<const Store>("trace_store/a");
  store.reset();
  host.provide<const Store>("trace_store/a", nullptr);
  EXPECT_EQ(found->value, 7);
}

}  // namespace
}  // namespace otlpd
